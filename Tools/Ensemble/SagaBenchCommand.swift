import ArgumentParser
import Contracts
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import Logging
import Messaging
import OrchestratorCore
import ServiceKit
import Synchronization

/// `ensemble bench saga`: orders against the running stack (`make up`).
struct SagaBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saga",
        abstract: "Place orders against the running stack and measure orders/s, end-to-end latency and memory.",
        discussion: """
        Run the stack first (make up, ideally a release build). Each of --concurrency workers
        places an order over HTTP and waits for its outcome event on orders.events, then
        places the next. Latency is from sending POST /orders to reading the order's
        outcome event. The bench sets the stock of SKU-BENCH through the inventory service.
        """
    )

    @OptionGroup var options: CommonOptions

    @Option(help: "The orchestrator's base URL.")
    var url = "http://127.0.0.1:8080"

    @Option(help: "The inventory service's base URL (to stock SKU-BENCH).")
    var inventoryURL = "http://127.0.0.1:8083"

    @Option(help: "Orders to place.")
    var orders = 2000

    @Option(help: "Orders in flight at once.")
    var concurrency = 32

    @Option(help: "Process id of the stack, for its peak memory and CPU; found automatically when omitted.")
    var stackPid: Int32?

    @Flag(help: "Print one JSON object on standard output instead of the table.")
    var json = false

    func validate() throws {
        guard orders > 0, concurrency > 0 else { throw ValidationError("--orders and --concurrency must be positive") }
    }

    struct Result: Codable {
        var orders: Int
        var concurrency: Int
        var seconds: Double
        var ordersPerSecond: Double
        var completed: Int
        var compensated: Int
        var failed: Int
        var needsAttention: Int
        var unfinished: Int
        var compensationRate: Double
        var latencyP50Milliseconds: Double
        var latencyP95Milliseconds: Double
        var latencyP99Milliseconds: Double
        var messagesPerOrder: Double?
        var stackPeakResidentMegabytes: Double?
        /// CPU (user + system) per order of the stack process and of its
        /// embedded broker, from `/proc` across the run; nil when not found on this machine.
        var stackCPUMillisecondsPerOrder: Double?
        var brokerCPUMillisecondsPerOrder: Double?
        /// CPU per order of each service's processes, when the stack runs one process per
        /// service (`ensemble up --processes`); nil otherwise.
        var serviceCPUMillisecondsPerOrder: [String: Double]?
        /// Records already in the catalog's topics when the run began (the sum of their high
        /// watermarks): on the embedded broker the CPU per message grows with them, so runs
        /// compare only at the same history (Docs/performance.md).
        var recordsBefore: Int64?
        /// CPU per order of this benchmark process (the load generator shares the machine).
        var clientCPUMillisecondsPerOrder: Double?

        var table: String {
            var rows: [[String]] = [
                ["throughput", "\(format(ordersPerSecond, 1)) orders/s (\(format(seconds, 2)) s)"],
                ["outcomes", "\(completed) completed, \(compensated) compensated, \(failed) failed, \(needsAttention) need attention, \(unfinished) unfinished"],
                ["compensation rate", "\(format(compensationRate * 100, 1)) %"],
                ["end-to-end p50", "\(format(latencyP50Milliseconds, 1)) ms"],
                ["end-to-end p95", "\(format(latencyP95Milliseconds, 1)) ms"],
                ["end-to-end p99", "\(format(latencyP99Milliseconds, 1)) ms"],
                ["messages per order", messagesPerOrder.map { format($0, 1) } ?? "n/a (no metrics)"],
                ["stack peak memory", stackPeakResidentMegabytes.map { "\(format($0, 1)) MiB (broker aside)" } ?? "n/a (stack process not found)"],
                ["stack CPU per order", stackCPUMillisecondsPerOrder.map { "\(format($0, 2)) ms" } ?? "n/a (stack process not found)"],
                ["broker CPU per order", brokerCPUMillisecondsPerOrder.map { "\(format($0, 2)) ms" } ?? "n/a (embedded broker not found)"],
            ]
            for (service, milliseconds) in (serviceCPUMillisecondsPerOrder ?? [:]).sorted(by: { $0.key < $1.key }) {
                rows.append(["CPU per order, \(service)", "\(format(milliseconds, 2)) ms"])
            }
            rows.append(["client CPU per order", clientCPUMillisecondsPerOrder.map { "\(format($0, 2)) ms (this benchmark process)" } ?? "n/a"])
            rows.append(["records in the topics before", recordsBefore.map { "\($0) (the embedded broker's CPU per message grows with them)" } ?? "n/a (topics not found)"])
            return TextTable(title: "ensemble bench saga — \(orders) orders, \(concurrency) in flight", columns: ["measure", "value"], rows: rows).rendered
        }
    }

    func run() async throws {
        let reader = options.reader()
        let configuration = try ServiceConfiguration(service: "bench", defaultPort: 0, reader: reader)
        let logger = options.bootstrapCommandLogging(configuration, reader: reader, label: "ensemble.bench")
        let client = try OrchestratorClient(url: url)
        let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
        // Before stocking SKU-BENCH, whose level-set event is itself a record.
        let recordsBefore = try? await admin.highWatermarks(TopicNames.standard.allTopics, timeout: .seconds(10)).values.reduce(0, +)
        try await stock(onHand: 10_000_000)
        let messagesBefore = await publishedMessages()

        let waiter = OutcomeWaiter()
        let outcomes = TopicCatalog.events("orders")
        // From each partition's end before the first order: outcomes of earlier runs are not
        // read again (on a stack with history there can be many).
        let ends = try await admin.highWatermarks([outcomes], timeout: .seconds(10))
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: configuration.kafka, groupID: "bench-\(UUID().uuidString.prefix(8))",
            consumption: .assign(ends.map { partition, end in KafkaTopicPartition(topic: outcomes, partition: partition.partition, start: .offset(end)) })
        ), logger: logger)

        let total = orders
        let progress = SharedCounter()
        let quiet = json
        let workerCount = min(concurrency, total)
        let result: Result = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await consumer.run() }
            tasks.addTask {
                for try await message in consumer.messages {
                    guard let envelope = try? Envelope(record: message) else { continue }
                    switch envelope.messageType {
                    case OrderCompleted.messageType: waiter.finish(envelope.correlationID, as: "completed")
                    case OrderFailed.messageType:
                        let status = (try? envelope.decode(OrderFailed.self).status) ?? "failed"
                        waiter.finish(envelope.correlationID, as: status)
                    case OrderNeedsAttention.messageType: waiter.finish(envelope.correlationID, as: "needs-attention")
                    default: continue
                    }
                }
            }
            defer { tasks.cancelAll() }

            let next = SharedCounter()
            let (stackProcess, brokerProcess) = (stackPid ?? ProcessCPU.stack, ProcessCPU.broker)
            let cpuBefore = (stack: ProcessCPU.seconds(stackProcess), broker: ProcessCPU.seconds(brokerProcess), client: ProcessCPU.seconds(getpid()))
            let serviceProcesses = ProcessCPU.services
            let servicesBefore = ProcessCPU.seconds(of: serviceProcesses)
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { workers in
                for worker in 0..<workerCount {
                    workers.addTask {
                        while true {
                            let index = next.next() - 1
                            guard index < total else { return }
                            let order = OrderRequest(
                                customerID: (worker + index) % 2 == 0 ? "bob" : "alice",
                                items: [.init(sku: "SKU-BENCH", quantity: 1, unitPrice: Money("9.99")!)],
                                payment: .init(card: "4111111111111111"),
                                shipTo: Address(name: "Bench", line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US")
                            )
                            let sent = ContinuousClock.now
                            let accepted = try await client.place(order)
                            await waiter.wait(accepted.orderId, sentAt: sent, timeout: .seconds(60))
                            let done = progress.next()
                            if !quiet, done % max(1, total / 10) == 0 {
                                FileHandle.standardError.write(Data("\r\(done * 100 / total)% of \(total) orders\u{1B}[K".utf8))
                            }
                        }
                    }
                }
                try await workers.waitForAll()
            }
            let elapsed = ContinuousClock.now - started
            let cpuAfter = (stack: ProcessCPU.seconds(stackProcess), broker: ProcessCPU.seconds(brokerProcess), client: ProcessCPU.seconds(getpid()))
            let servicesAfter = ProcessCPU.seconds(of: serviceProcesses)
            func perOrder(_ before: Double?, _ after: Double?) -> Double? {
                guard let before, let after else { return nil }
                return (after - before) * 1000 / Double(total)
            }
            if !json { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let outcomes = waiter.outcomes
            let latencies = outcomes.compactMap(\.latency).map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }.sorted()
            let count = { (status: String) in outcomes.filter { $0.status == status }.count }
            let messagesAfter = await publishedMessages()
            return Result(
                orders: total, concurrency: concurrency, seconds: seconds, ordersPerSecond: Double(total) / seconds,
                completed: count("completed"), compensated: count("compensated"), failed: count("failed"), needsAttention: count("needs-attention"), unfinished: count("unfinished"),
                compensationRate: Double(count("compensated")) / Double(total),
                latencyP50Milliseconds: Percentile.of(latencies, 0.50), latencyP95Milliseconds: Percentile.of(latencies, 0.95),
                latencyP99Milliseconds: Percentile.of(latencies, 0.99),
                messagesPerOrder: messagesBefore.flatMap { before in messagesAfter.map { ($0 - before) / Double(total) } },
                stackPeakResidentMegabytes: StackProcess.peakResidentMegabytes(pid: stackPid),
                stackCPUMillisecondsPerOrder: perOrder(cpuBefore.stack, cpuAfter.stack),
                brokerCPUMillisecondsPerOrder: perOrder(cpuBefore.broker, cpuAfter.broker),
                serviceCPUMillisecondsPerOrder: serviceProcesses.isEmpty ? nil : Dictionary(uniqueKeysWithValues: servicesAfter.compactMap { service, after in
                    perOrder(servicesBefore[service], after).map { (service, $0) }
                }),
                recordsBefore: recordsBefore,
                clientCPUMillisecondsPerOrder: perOrder(cpuBefore.client, cpuAfter.client)
            )
        }
        print(json ? String(decoding: try MessageCoding.encode(result), as: UTF8.self) : result.table)
    }

    private func stock(onHand: Int) async throws {
        guard let url = URL(string: inventoryURL)?.appendingPathComponent("stock/SKU-BENCH") else { throw CLIError("--inventory-url is not a URL") }
        var request = await URLRequest.authorized(url)
        request.httpMethod = "PUT"
        request.httpBody = Data(#"{"onHand": \#(onHand)}"#.utf8)
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw CLIError("stocking SKU-BENCH failed") }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("the inventory service at \(inventoryURL) did not answer (\(error.localizedDescription)); is `make up` running?")
        }
    }

    /// Messages every service published so far, from the stack's `/metrics`.
    private func publishedMessages() async -> Double? {
        guard let url = URL(string: url)?.appendingPathComponent("metrics"),
              let (data, _) = try? await URLSession.shared.data(for: await URLRequest.authorized(url)) else { return nil }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("ensemble_outbox_published_total") }
        guard !lines.isEmpty else { return nil }
        return lines.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }
}

/// A counter several tasks share.
final class SharedCounter: Sendable {
    private let value = Mutex(0)

    /// Adds one and returns the new value.
    func next() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
}

/// Matches outcome events to the orders workers wait for.
final class OutcomeWaiter: Sendable {
    struct Outcome: Sendable {
        var status: String
        var latency: Duration?
    }

    private struct State {
        var waiting: [String: (ContinuousClock.Instant, CheckedContinuation<Void, Never>)] = [:]
        var arrived: [String: (String, ContinuousClock.Instant)] = [:]
        var outcomes: [Outcome] = []
        var byOrder: [String: Outcome] = [:]

        mutating func record(_ order: String, _ outcome: Outcome) {
            outcomes.append(outcome)
            byOrder[order] = outcome
        }
    }

    private let state = Mutex(State())

    var outcomes: [Outcome] { state.withLock { $0.outcomes } }

    /// What `wait` saw for `order`.
    func outcome(of order: String) -> Outcome? { state.withLock { $0.byOrder[order] } }

    func finish(_ order: String, as status: String) {
        let now = ContinuousClock.now
        let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard let (sent, continuation) = state.waiting.removeValue(forKey: order) else {
                state.arrived[order] = (status, now)
                return nil
            }
            state.record(order, Outcome(status: status, latency: now - sent))
            return continuation
        }
        continuation?.resume()
    }

    func wait(_ order: String, sentAt: ContinuousClock.Instant, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let early = self.state.withLock { state -> Bool in
                        if let (status, at) = state.arrived.removeValue(forKey: order) {
                            state.record(order, Outcome(status: status, latency: at - sentAt))
                            return true
                        }
                        state.waiting[order] = (sentAt, continuation)
                        return false
                    }
                    if early { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                let continuation = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                    guard let (_, continuation) = state.waiting.removeValue(forKey: order) else { return nil }
                    state.record(order, Outcome(status: "unfinished", latency: nil))
                    return continuation
                }
                continuation?.resume()
            }
            await group.next()
            group.cancelAll()
        }
    }
}

/// The stack process's memory, from `/proc`.
enum StackProcess {
    /// Peak resident memory (`VmHWM`) of `pid`, or of the process running `ensemble up`.
    static func peakResidentMegabytes(pid: Int32?) -> Double? {
        let candidates: [Int32] = pid.map { [$0] } ?? ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { candidate in
            guard let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(candidate)/cmdline")) else { return false }
            let arguments = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.first?.hasSuffix("ensemble") == true && arguments.dropFirst().first == "up"
        }
        guard let pid = candidates.first,
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return nil }
        return kilobytes / 1024
    }
}
