import ArgumentParser
import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import OrchestratorCore
import ServiceKit

/// `ensemble bench compare`: one generated workload run orchestrated and choreographed on
/// the running stack, one mode after the other and both at once, then each mode with a
/// participant stopped mid-run; per mode, throughput, latency, traffic, hops, CPU and
/// correctness, and the structural side from the declared flows.
struct CompareBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run the same workload orchestrated and choreographed, and compare them.",
        discussion: """
        Run the stack first (make up-release for real figures). Phases: sequential (all
        orders orchestrated, then all choreographed), interleaved (both modes at once,
        alternating), and failure (per mode, --failure-orders orders while --stop is
        stopped for --stop-seconds mid-run). Latency is from POST /orders to reading the
        order's outcome event on orders.events. Messages, bytes and hops come from reading
        every topic; CPU from /proc; correctness from asking payment and inventory about
        every order. The bench sets the stock of SKU-BENCH and SKU-BENCH-SHORT.
        """
    )

    @OptionGroup var options: CommonOptions
    @Option(help: "Orders per mode and phase.") var orders = 400
    @Option(help: "Orders in flight at once.") var concurrency = 16
    @Option(help: "The workload: kind:weight, kinds happy, decline, out-of-stock, blocked.") var mix = Mix.standard
    @Option(help: "The participant stopped in the failure phase (payment, inventory, shipping, profile).") var stop = "payment"
    @Option(help: "How long it is stopped, in seconds.") var stopSeconds = 5
    @Option(help: "Orders per mode in the failure phase.") var failureOrders = 200
    @Flag(help: "Skip the failure phase.") var noFailure = false
    @Option(help: "The orchestrator's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "The payment service's base URL.") var paymentURL = "http://127.0.0.1:8082"
    @Option(help: "The inventory service's base URL.") var inventoryURL = "http://127.0.0.1:8083"
    @Option(help: "The shipping service's base URL.") var shippingURL = "http://127.0.0.1:8084"
    @Option(help: "The profile service's base URL.") var profileURL = "http://127.0.0.1:8085"
    @Option(help: "Also write the report as Markdown here, with the latency chart (SVG) next to it.") var markdown: String?
    @Flag(help: "Print one JSON object on standard output instead of the tables.") var json = false

    func validate() throws {
        guard orders > 0, concurrency > 0, failureOrders > 0, (1...60).contains(stopSeconds) else {
            throw ValidationError("--orders, --concurrency and --failure-orders must be positive; --stop-seconds 1-60")
        }
        guard ServiceName.participants.contains(ServiceName(rawValue: stop)) else {
            throw ValidationError("--stop must be one of \(ServiceName.participants.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let reader = options.reader()
        let configuration = try ServiceConfiguration(service: "bench", defaultPort: 0, reader: reader)
        let logger = options.bootstrapCommandLogging(configuration, reader: reader, label: "ensemble.bench")
        let probe = try StackProbe(urls: [.orchestrator: url, .payment: paymentURL, .inventory: inventoryURL, .shipping: shippingURL, .profile: profileURL])
        let client = try OrchestratorClient(url: url)
        let waiter = OutcomeWaiter()
        let counts = try await KafkaAdmin(configuration: configuration.kafka, logger: logger).partitionCounts(TopicCatalog.primaryTopics)
        let tap = try TrafficTap(
            kafka: configuration.kafka, topics: Dictionary(uniqueKeysWithValues: TopicCatalog.primaryTopics.map { ($0, counts[$0] ?? TopicCatalog.partitions) }),
            waiter: waiter, logger: logger
        )
        let runner = ComparisonRunner(client: client, probe: probe, tap: tap, concurrency: concurrency, quiet: json)

        let result = try await withThrowingTaskGroup(of: ComparisonResult?.self) { group in
            group.addTask { try await tap.run(); return nil }
            group.addTask {
                try await runner.warmUp()
                let kinds = mix.kinds(orders)
                var sequential: [ModeRun] = []
                for mode in CheckoutMode.allCases {
                    runner.say("sequential: \(orders) \(mode.rawValue) orders")
                    sequential.append(try await runner.phase(kinds.map { ($0, mode) }, measureCPU: true).first!)
                }
                runner.say("interleaved: \(orders) orders of each mode at once")
                let interleaved = try await runner.phase(kinds.flatMap { [($0, CheckoutMode.orchestration), ($0, .choreography)] }, measureCPU: false)
                var failures: [FailureRun] = []
                if !noFailure {
                    for mode in CheckoutMode.allCases {
                        runner.say("failure: \(failureOrders) \(mode.rawValue) orders, \(stop) stopped for \(stopSeconds) s after a quarter of them")
                        failures.append(try await runner.failurePhase(mix.kinds(failureOrders).map { ($0, mode) }, stop: ServiceName(rawValue: stop), seconds: stopSeconds))
                    }
                }
                return ComparisonResult(
                    orders: orders, concurrency: concurrency, mix: mix.description, sequential: sequential, interleaved: interleaved,
                    failure: failures, structure: .declared
                )
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let next { return next }
            }
            throw CLIError("the comparison stopped before it finished")
        }
        if !json { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        print(json ? String(decoding: try MessageCoding.encode(result), as: UTF8.self) : result.tables)
        if let markdown {
            try ComparisonReport(result: result).write(markdownPath: markdown)
            if !json { print("\nwrote \(markdown)") }
        }
    }
}

/// One placed order and what became of it.
struct PlacedOrder: Sendable {
    var id: String
    var kind: OrderKind
    var mode: CheckoutMode
    var status: String
    var latencyMilliseconds: Double?
}

/// Runs the phases against the stack.
struct ComparisonRunner: Sendable {
    let client: OrchestratorClient
    let probe: StackProbe
    let tap: TrafficTap
    let concurrency: Int
    let quiet: Bool
    static let stock = 1_000_000
    static let outcomeTimeout = Duration.seconds(120)

    func say(_ text: String) {
        if !quiet { FileHandle.standardError.write(Data("\r\u{1B}[Kbench: \(text)\n".utf8)) }
    }

    /// Orders of each mode until one's outcome is read: the tap's partitions start at
    /// their end once assigned, which takes a moment; then both paths are warm too.
    func warmUp() async throws {
        try await probe.setStock(Workload.sku, onHand: Self.stock)
        try await probe.setStock(Workload.shortSKU, onHand: 0)
        for mode in CheckoutMode.allCases {
            var last: PlacedOrder?
            for _ in 0..<10 {
                last = try await place([(.happy, mode)], timeout: .seconds(3), onPlaced: { _ in }).first
                if last?.status == "completed" { break }
            }
            guard let last, last.status == "completed" else {
                throw CLIError("warm-up \(mode.rawValue) orders did not complete where the bench can see them; is the stack healthy? (ensemble order show \(last?.id ?? "?"))")
            }
        }
    }

    /// Places `orders` with `concurrency` in flight, each waiting for its outcome event.
    func place(_ orders: [(OrderKind, CheckoutMode)], timeout: Duration = Self.outcomeTimeout, onPlaced: @escaping @Sendable (Int) async -> Void) async throws -> [PlacedOrder] {
        let next = SharedCounter()
        let done = SharedCounter()
        let total = orders.count
        let quiet = self.quiet
        let client = self.client
        let waiter = tap.waiter
        return try await withThrowingTaskGroup(of: [PlacedOrder].self) { workers in
            for _ in 0..<min(concurrency, total) {
                workers.addTask {
                    var placed: [PlacedOrder] = []
                    while true {
                        let index = next.next() - 1
                        guard index < total else { return placed }
                        let (kind, mode) = orders[index]
                        let sent = ContinuousClock.now
                        let accepted = try await client.place(Workload.order(kind, index: index, mode: mode))
                        await onPlaced(index + 1)
                        await waiter.wait(accepted.orderId, sentAt: sent, timeout: timeout)
                        let outcome = waiter.outcome(of: accepted.orderId)
                        placed.append(PlacedOrder(
                            id: accepted.orderId, kind: kind, mode: mode, status: outcome?.status ?? "unfinished",
                            latencyMilliseconds: outcome?.latency.map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }
                        ))
                        let finished = done.next()
                        if !quiet, finished % max(1, total / 20) == 0 {
                            FileHandle.standardError.write(Data("\r\(finished * 100 / total)% of \(total) orders\u{1B}[K".utf8))
                        }
                    }
                }
            }
            var all: [PlacedOrder] = []
            for try await placed in workers { all += placed }
            return all
        }
    }

    /// Runs `orders` and measures each mode in them.
    func phase(_ orders: [(OrderKind, CheckoutMode)], measureCPU: Bool) async throws -> [ModeRun] {
        let before = try await probe.stock(Workload.sku)
        let cpuBefore = (ProcessCPU.seconds(ProcessCPU.stack), ProcessCPU.seconds(ProcessCPU.broker))
        let handlersBefore = await probe.handlerSeconds()
        let started = ContinuousClock.now
        let placed = try await place(orders, onPlaced: { _ in })
        let elapsed = ContinuousClock.now - started
        let cpuAfter = (ProcessCPU.seconds(ProcessCPU.stack), ProcessCPU.seconds(ProcessCPU.broker))
        let handlersAfter = await probe.handlerSeconds()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18

        // Stock: every unit a completed order bought is gone, nothing stays reserved.
        let deadline = ContinuousClock.now + .seconds(15)
        var after = try await probe.stock(Workload.sku)
        while after.reserved != before.reserved, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            after = try await probe.stock(Workload.sku)
        }
        let sold = placed.filter { $0.status == "completed" && $0.kind != .outOfStock }.count
        let conserved = before.onHand - after.onHand == sold && after.reserved == before.reserved

        var runs: [ModeRun] = []
        for mode in CheckoutMode.allCases {
            let mine = placed.filter { $0.mode == mode }
            guard !mine.isEmpty else { continue }
            var run = try await measure(mine, seconds: seconds)
            run.stockConserved = conserved
            if measureCPU {
                let count = Double(mine.count)
                if let stackBefore = cpuBefore.0, let stackAfter = cpuAfter.0 { run.stackCPUMillisecondsPerOrder = (stackAfter - stackBefore) * 1000 / count }
                if let brokerBefore = cpuBefore.1, let brokerAfter = cpuAfter.1 { run.brokerCPUMillisecondsPerOrder = (brokerAfter - brokerBefore) * 1000 / count }
                run.handlerMillisecondsPerOrder = handlersAfter.reduce(into: [:]) { result, entry in
                    let delta = entry.value - (handlersBefore[entry.key] ?? 0)
                    if delta > 0 { result[entry.key] = delta * 1000 / count }
                }
            }
            runs.append(run)
        }
        return runs
    }

    /// Throughput, latency, traffic, hops and correctness of one mode's orders.
    func measure(_ orders: [PlacedOrder], seconds: Double) async throws -> ModeRun {
        let latencies = orders.compactMap(\.latencyMilliseconds).sorted()
        let count = { (status: String) in orders.filter { $0.status == status }.count }
        let traffic = tap.traffic(of: orders.map(\.id))
        var capturedForFailed = 0
        var dangling = 0
        var completedNotCaptured = 0
        for order in orders {
            let effects = try await probe.effects(of: order.id)
            if order.status != "completed", effects.payment == "captured" { capturedForFailed += 1 }
            if order.status == "completed", effects.payment != "captured" { completedNotCaptured += 1 }
            dangling += effects.reservations.filter { $0 == "reserved" }.count
        }
        let hops = traffic.hops.sorted()
        return ModeRun(
            mode: orders[0].mode, orders: orders.count, seconds: seconds,
            completed: count("completed"), compensated: count("compensated"), failed: count("failed"),
            needsAttention: count("needs-attention"), unfinished: count("unfinished"),
            unexpected: orders.filter { !$0.kind.expected.contains($0.status) }.count,
            completedPerSecond: Double(count("completed")) / seconds,
            latencyP50Milliseconds: Percentile.of(latencies, 0.50), latencyP95Milliseconds: Percentile.of(latencies, 0.95),
            latencyP99Milliseconds: Percentile.of(latencies, 0.99), latencyMaxMilliseconds: latencies.last ?? 0,
            messagesPerOrder: Double(traffic.messages) / Double(orders.count), bytesPerOrder: Double(traffic.bytes) / Double(orders.count),
            happyPathHops: hops.isEmpty ? nil : hops[hops.count / 2],
            capturedForFailed: capturedForFailed, completedNotCaptured: completedNotCaptured, danglingReservations: dangling,
            latencies: latencies
        )
    }

    /// Runs `orders` and stops `service` for `seconds` once a quarter of them were placed.
    func failurePhase(_ orders: [(OrderKind, CheckoutMode)], stop service: ServiceName, seconds: Int) async throws -> FailureRun {
        try await probe.setStock(Workload.sku, onHand: Self.stock)
        let trigger = max(1, orders.count / 4)
        let probe = self.probe
        let stopped = StopOnce()
        let started = ContinuousClock.now
        let placed = try await place(orders) { count in
            guard count >= trigger, stopped.claim() else { return }
            _ = try? await probe.send("POST", service, "admin/stop", query: "seconds=\(seconds)")
        }
        let elapsed = ContinuousClock.now - started
        // The next phase starts once the service is back.
        let deadline = ContinuousClock.now + .seconds(60)
        while await !probe.isReady(service), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
        let latencies = placed.compactMap(\.latencyMilliseconds).sorted()
        let count = { (status: String) in placed.filter { $0.status == status }.count }
        return FailureRun(
            mode: placed.first?.mode ?? .orchestration, orders: placed.count, stopped: service.rawValue, stoppedSeconds: seconds,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            completed: count("completed"), compensated: count("compensated"), failed: count("failed"),
            needsAttention: count("needs-attention"), lost: count("unfinished"),
            happyNotCompleted: placed.filter { $0.kind == .happy && $0.status != "completed" }.count,
            timeToTerminalP50Milliseconds: Percentile.of(latencies, 0.5), timeToTerminalP99Milliseconds: Percentile.of(latencies, 0.99),
            timeToTerminalMaxMilliseconds: latencies.last ?? 0
        )
    }
}

/// True for the first caller only.
final class StopOnce: Sendable {
    private let counter = SharedCounter()
    func claim() -> Bool { counter.next() == 1 }
}
