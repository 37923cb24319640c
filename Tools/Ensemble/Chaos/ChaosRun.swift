import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import OrchestratorCore
import ServiceKit
import Synchronization

/// One chaos run on a started `ChaosStack`: waits for the stack, stocks the SKUs, places
/// the orders while `FaultInjectorLoop` works, waits for quiescence, reads the system's
/// state and checks the rules.
struct ChaosRun: Sendable {
    let stack: ChaosStack
    let orders: Int
    let concurrency: Int
    let interval: Duration
    let targets: [ServiceName]
    let modes: [CheckoutMode]
    let mix: Mix
    let pauseShare: Double
    let seed: UInt64
    let settle: Duration
    let followFor: Duration
    /// Orders per second at most; 0 for no limit.
    let rate: Double
    let say: @Sendable (String) -> Void
    let logger: Logger

    /// How long an order may take after the last fault before the run counts it as stuck.
    static let terminalWithin = Duration.seconds(30)
    /// The consumers' session timeout is 6 s; a pause lasts past it.
    static let pauseFor = Duration.seconds(8)

    func run() async throws -> ChaosResult {
        let probe = try StackProbe(urls: stack.urls)
        let client = try OrchestratorClient(url: stack.url(.orchestrator))
        try await waitForServices(probe, timeout: .seconds(180), what: "the stack to start")
        say("every service is ready; placing \(orders) orders, \(concurrency) at a time, a fault about every \(interval)")

        let stockUnits = orders * 2
        let initialStock = [Workload.sku: stockUnits, Workload.shortSKU: 0]
        for (sku, units) in initialStock { try await probe.setStock(sku, onHand: units) }

        let faults = FaultInjectorLoop(
            services: targets, interval: interval, pauseShare: pauseShare, pauseFor: Self.pauseFor, seed: seed, processes: stack.processes, say: say
        )
        let started = ContinuousClock.now
        let faultTask = Task { await faults.run() }
        let kinds = mix.kinds(orders)
        let runID = "chaos-\(seed)-\(UInt32.random(in: 0...UInt32.max))"
        let placed: [ChaosOrder]
        do {
            placed = try await place(kinds, runID: runID, client: client)
        } catch {
            faultTask.cancel()
            await faultTask.value
            throw error
        }
        faultTask.cancel()
        await faultTask.value
        let placing = ContinuousClock.now - started
        say("\(placed.count) orders placed in \(String(format: "%.1f", placing.seconds)) s; faults stopped after \(faults.done.count); waiting for every service")
        try await waitForServices(probe, timeout: .seconds(120), what: "every service to be ready after the last fault")
        let recovered = ContinuousClock.now

        // Quiescence: every order terminal, every outbox empty, every group caught up.
        let reader = SystemReader(stack: stack, skus: Array(initialStock.keys), logger: logger)
        let admin = try KafkaAdmin(configuration: stack.configuration.kafka, logger: logger)
        var terminalAfter: Duration?
        var state = try await reader.read(placed, admin: admin)
        let deadline = recovered + settle
        while ContinuousClock.now < deadline {
            if terminalAfter == nil, state.unfinished == 0 { terminalAfter = ContinuousClock.now - recovered }
            if terminalAfter != nil, state.quiet { break }
            try await Task.sleep(for: .milliseconds(500))
            state = try await reader.read(placed, admin: admin)
        }
        if terminalAfter == nil, state.unfinished == 0 { terminalAfter = ContinuousClock.now - recovered }
        let quiescence = ContinuousClock.now - recovered
        say("quiet \(String(format: "%.1f", quiescence.seconds)) s after the last fault; checking the invariants")

        var violations = ChaosRules.violations(orders: placed, initialStock: initialStock, state: state)
        if let terminalAfter, terminalAfter > Self.terminalWithin {
            violations.append(Violation(rule: "every order terminal within 30 s of the last restart", detail: "took \(String(format: "%.1f", terminalAfter.seconds)) s"))
        }
        let profiles = try await compareRebuild(probe)
        violations += profiles.violations

        let faultsDone = faults.done
        let restarts = stack.processes.startCounts.mapValues { $0 - 1 }
        return ChaosResult(
            seed: seed, orders: orders, concurrency: concurrency, killEverySeconds: interval.seconds, services: targets.map(\.rawValue),
            modes: modes.map(\.rawValue), mix: mix.description,
            kills: faultsDone.filter { $0.action == .kill }.count, pauses: faultsDone.filter { $0.action == .pause }.count,
            faultsByService: Dictionary(faultsDone.map { ($0.service, 1) }, uniquingKeysWith: +), restarts: restarts,
            placingSeconds: placing.seconds, terminalSecondsAfterLastFault: terminalAfter?.seconds, quiescenceSeconds: quiescence.seconds,
            states: Dictionary(uniqueKeysWithValues: modes.map { mode in
                (mode.rawValue, placed.filter { $0.mode == mode }.reduce(into: [String: Int]()) { $0[state.statuses[$1.id] ?? "missing", default: 0] += 1 })
            }),
            unexpectedOutcomes: placed.filter { !$0.kind.expected.contains(state.statuses[$0.id] ?? "") }.count,
            profilesCompared: profiles.compared, deadLetters: state.deadLetters, violations: violations, faults: faultsDone
        )
    }

    /// Places `kinds` (the modes taking turns), `concurrency` at a time; each worker then
    /// follows its order until it is terminal, for at most `followFor`, before placing the
    /// next (what is still running then is waited for after the faults stop).
    private func place(_ kinds: [OrderKind], runID: String, client: OrchestratorClient) async throws -> [ChaosOrder] {
        let next = SharedCounter()
        let done = SharedCounter()
        let total = kinds.count
        let modes = self.modes
        let say = self.say
        let rate = self.rate
        let start = ContinuousClock.now
        return try await withThrowingTaskGroup(of: [ChaosOrder].self) { workers in
            for _ in 0..<min(concurrency, total) {
                workers.addTask {
                    var mine: [ChaosOrder] = []
                    while true {
                        let index = next.next() - 1
                        guard index < total else { return mine }
                        if rate > 0 { try await Task.sleep(until: start + .milliseconds(Int64(Double(index) * 1000 / rate)), clock: .continuous) }
                        let mode = modes[index % modes.count]
                        let request = Workload.order(kinds[index], index: index, mode: mode)
                        // As a careful client does: one idempotency key per order, sent
                        // again until an orchestrator answers.
                        let id = try await Self.retrying("placing order \(index)", timeout: .seconds(120)) {
                            try await client.place(request, idempotencyKey: "\(runID)-\(index)").orderId
                        }
                        mine.append(ChaosOrder(id: id, kind: kinds[index], mode: mode))
                        _ = try? await Self.retrying("following order \(id)", timeout: followFor) {
                            guard try await client.order(id).isFinished else { throw CLIError("running") }
                        }
                        let finished = done.next()
                        if finished % max(1, total / 10) == 0 { say("\(finished) of \(total) orders placed") }
                    }
                }
            }
            var all: [ChaosOrder] = []
            for try await orders in workers { all += orders }
            return all
        }
    }

    /// Calls `body` until it returns, 250 ms apart; throws its last error after `timeout`.
    static func retrying<T: Sendable>(_ what: String, timeout: Duration, _ body: @Sendable () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                return try await body()
            } catch {
                guard ContinuousClock.now < deadline else { throw CLIError("\(what): still failing after \(timeout): \(error)") }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    private func waitForServices(_ probe: StackProbe, timeout: Duration, what: String) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var ready = true
            for (name, _) in ProcessStack.services where await !probe.isReady(name) { ready = false }
            if ready { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw CLIError("timed out waiting for \(what) (logs in \(stack.directory)/logs)")
    }

    /// The aggregator's profiles against a rebuild of them from the topics.
    private func compareRebuild(_ probe: StackProbe) async throws -> (compared: Int, violations: [Violation]) {
        let before = try await profiles(probe)
        let status = try await probe.send("POST", .aggregator, "admin/rebuild", json: "{}")
        guard status == 202 else { return (0, [Violation(rule: "profiles equal a rebuild", detail: "POST /admin/rebuild answered \(status)")]) }
        let state = try await Self.retrying("the aggregator's rebuild", timeout: .seconds(120)) {
            let (_, data) = try await probe.get(.aggregator, "admin/rebuild")
            let state = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["state"] as? String ?? "?"
            guard state == "done" || state == "failed" else { throw CLIError("rebuild \(state)") }
            return state
        }
        guard state == "done" else { return (before.count, [Violation(rule: "profiles equal a rebuild", detail: "the rebuild failed")]) }
        let after = try await profiles(probe)
        var violations: [Violation] = []
        let kept = stack.directory + "/rebuild"
        for customer in Set(before.keys).union(after.keys).sorted() where before[customer] != after[customer] {
            // Both documents, to tell what differs.
            try? FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: "\(kept)/\(customer).live.json", contents: Data((before[customer] ?? "none").utf8))
            FileManager.default.createFile(atPath: "\(kept)/\(customer).rebuilt.json", contents: Data((after[customer] ?? "none").utf8))
            violations.append(Violation(rule: "profiles equal a rebuild", detail: "\(customer): the rebuilt profile differs (both in \(kept))"))
        }
        return (before.count, violations)
    }

    /// Every profile, as sorted-key JSON, by customer.
    private func profiles(_ probe: StackProbe) async throws -> [String: String] {
        let (status, data) = try await probe.get(.aggregator, "profiles", query: "limit=500")
        guard status == 200, let page = try JSONSerialization.jsonObject(with: data) as? [String: Any], let profiles = page["profiles"] as? [[String: Any]] else {
            throw CLIError("GET /profiles answered \(status)")
        }
        var result: [String: String] = [:]
        for profile in profiles {
            result[profile["customerId"] as? String ?? "?"] = String(decoding: try JSONSerialization.data(withJSONObject: profile, options: [.sortedKeys]), as: UTF8.self)
        }
        return result
    }
}
