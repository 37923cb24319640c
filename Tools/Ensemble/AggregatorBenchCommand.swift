import ArgumentParser
import AsyncHTTPClient
import Foundation
import Messaging
import NIOCore
import Synchronization

/// `ensemble bench aggregator`: projection lag under load, read latency at fixed request
/// rates (projection and live side by side), and rebuild speed, against a running stack.
struct AggregatorBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregator",
        abstract: "Measure the aggregator: projection lag, GET latency at fixed rates, rebuild speed.",
        discussion: """
        Run the stack first (make up-release). The bench places --orders orders through the
        orchestrator and reads the projection lag (event occurred-at → applied) the aggregator
        measured meanwhile; then sends GET /profiles/{id} at each --rates value for --seconds,
        in projection mode and in live mode, timing each request from when it was due (so a
        stall counts fully); then rebuilds the projections and reports events/s.
        """
    )

    @Option(help: "The aggregator's base URL.") var url = "http://127.0.0.1:8081"
    @Option(help: "The orchestrator's base URL.") var orchestratorURL = "http://127.0.0.1:8080"
    @Option(help: "Orders to place while measuring the lag.") var orders = 300
    @Option(help: "Orders placed per second while measuring the lag (paced, below what the stack sustains, so the lag is the aggregator's and not a queue in front of it).") var orderRate = 25.0
    @Option(help: "Request rates to measure, per second.") var rates: [Int] = [500, 1000, 2000]
    @Option(help: "Seconds per rate and mode.") var seconds = 5.0
    @Flag(help: "Skip the rebuild.") var noRebuild = false
    @Flag(help: "Print one JSON object on standard output instead of the table.") var json = false

    struct ReadFigures: Codable {
        var mode: String
        var targetRate: Int
        var achievedRate: Double
        var requests: Int
        var errors: Int
        var p50Milliseconds: Double
        var p99Milliseconds: Double
    }

    struct Result: Codable {
        var orders: Int
        var orderRate: Double
        var lagEvents: Int
        var lagP50Milliseconds: Double?
        var lagP99Milliseconds: Double?
        var lagMaxMilliseconds: Double?
        var reads: [ReadFigures]
        var rebuildEvents: Int?
        var rebuildEventsPerSecond: Double?
        var rebuildSeconds: Double?
    }

    func run() async throws {
        let client = HTTPClient(configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)))
        do {
            try await bench(client)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func bench(_ client: HTTPClient) async throws {
        func say(_ text: String) { if !json { FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8)) } }

        // 1. Lag while orders flow.
        _ = try await send(client, "POST", "\(url)/admin/lag/reset")
        let settledBefore = try await settledOrders(client)
        let orders = self.orders
        let orchestratorURL = self.orchestratorURL
        let pace = Duration.nanoseconds(Int64(1_000_000_000 / max(orderRate, 0.1)))
        let placedFrom = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<orders {
                try await Task.sleep(until: placedFrom + pace * index, clock: .continuous)
                let body = """
                {"customerId": "\(index % 2 == 0 ? "bob" : "alice")", "items": [{"sku": "SKU-COFFEE", "quantity": 1, "unitPrice": "1.00"}],
                 "payment": {"card": "4111111111111111"}, "shipTo": {"name": "Bench", "line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}}
                """
                group.addTask { _ = try await Self.send(client, "POST", "\(orchestratorURL)/orders", body: body) }
                if index % 25 == 0 { say("placing orders: \(index) of \(orders)") }
            }
            try await group.waitForAll()
        }
        let deadline = ContinuousClock.now + .seconds(180)
        while try await settledOrders(client) < settledBefore + orders {
            guard ContinuousClock.now < deadline else { throw CLIError("the aggregator did not see every order end within 3 minutes") }
            say("waiting for \(orders) orders to end in the projections")
            try await Task.sleep(for: .milliseconds(200))
        }
        let (lagData, _) = try await send(client, "GET", "\(url)/admin/lag")
        let lag = try JSONSerialization.jsonObject(with: lagData) as? [String: Any] ?? [:]

        // 2. Reads at fixed rates.
        var reads: [ReadFigures] = []
        // Every projection rate first: a live phase leaves fan-out work behind in the stack
        // that would otherwise weigh on the next phase.
        for mode in ["projection", "live"] {
            for rate in rates {
                say("GET /profiles at \(rate)/s, \(mode)")
                reads.append(try await measure(client, rate: rate, mode: mode))
            }
        }

        // 3. Rebuild.
        var rebuild: (events: Int, rate: Double, seconds: Double)?
        if !noRebuild {
            say("rebuilding the projections")
            let started = ContinuousClock.now
            _ = try await send(client, "POST", "\(url)/admin/rebuild")
            while true {
                try await Task.sleep(for: .milliseconds(100))
                let (data, _) = try await send(client, "GET", "\(url)/admin/rebuild")
                let progress = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
                if progress["state"] as? String == "failed" { throw CLIError("rebuild failed: \(progress["error"] ?? "?")") }
                if progress["state"] as? String == "done" {
                    let elapsed = ContinuousClock.now - started
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    rebuild = (progress["applied"] as? Int ?? 0, progress["eventsPerSecond"] as? Double ?? 0, seconds)
                    break
                }
            }
        }
        say("")

        let result = Result(
            orders: orders, orderRate: orderRate, lagEvents: lag["count"] as? Int ?? 0, lagP50Milliseconds: lag["p50Milliseconds"] as? Double,
            lagP99Milliseconds: lag["p99Milliseconds"] as? Double, lagMaxMilliseconds: lag["maxMilliseconds"] as? Double,
            reads: reads, rebuildEvents: rebuild?.events, rebuildEventsPerSecond: rebuild?.rate, rebuildSeconds: rebuild?.seconds
        )
        if json {
            print(String(decoding: try MessageCoding.encode(result), as: UTF8.self))
            return
        }
        func ms(_ value: Double?) -> String { value.map { String(format: "%.2f ms", $0) } ?? "n/a" }
        var rows: [[String]] = [
            ["projection lag p50 / p99 / max", "\(ms(result.lagP50Milliseconds)) / \(ms(result.lagP99Milliseconds)) / \(ms(result.lagMaxMilliseconds)) (\(result.lagEvents) events)"],
        ]
        for read in reads {
            rows.append(["GET profile, \(read.mode), \(read.targetRate)/s", "p50 \(ms(read.p50Milliseconds)), p99 \(ms(read.p99Milliseconds)); \(String(format: "%.0f", read.achievedRate))/s done, \(read.errors) errors"])
        }
        if let rebuild {
            rows.append(["rebuild", String(format: "%d events in %.2f s: %.0f events/s", rebuild.events, rebuild.seconds, rebuild.rate)])
        }
        print(TextTable(title: "ensemble bench aggregator — \(orders) orders at \(Int(orderRate))/s, reads for \(seconds) s per rate", columns: ["measure", "value"], rows: rows).rendered)
    }

    /// Orders the aggregator has seen end.
    private func settledOrders(_ client: HTTPClient) async throws -> Int {
        let (data, _) = try await send(client, "GET", "\(url)/dashboard")
        let byStatus = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["ordersByStatus"] as? [String: Int] ?? [:]
        return byStatus.filter { $0.key != "running" }.values.reduce(0, +)
    }

    /// Open-loop reads at `rate` per second; each latency counts from when the request was due.
    private func measure(_ client: HTTPClient, rate: Int, mode: String) async throws -> ReadFigures {
        let total = Int(Double(rate) * seconds)
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(rate))
        let latencies = SharedList()
        let errors = SharedCounter()
        let clientID = "bench-\(mode)-\(rate)-\(UUID().uuidString.prefix(6))"
        let url = self.url
        let authorization = await CLIToken.authorization()
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<total {
                let due = started + interval * index
                try? await Task.sleep(until: due, clock: .continuous)
                let customer = index % 2 == 0 ? "bob" : "alice"
                group.addTask {
                    var request = HTTPClientRequest(url: "\(url)/profiles/\(customer)\(mode == "live" ? "?mode=live" : "")")
                    request.headers.add(name: "X-Client-Id", value: clientID)
                    if let authorization { request.headers.add(name: "Authorization", value: authorization) }
                    do {
                        let response = try await client.execute(request, timeout: .seconds(5))
                        _ = try await response.body.collect(upTo: 4 * 1024 * 1024)
                        if response.status == .ok {
                            let elapsed = ContinuousClock.now - due
                            latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                        } else {
                            _ = errors.next()
                        }
                    } catch {
                        _ = errors.next()
                    }
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        let sorted = latencies.values.sorted()
        return ReadFigures(
            mode: mode, targetRate: rate,
            achievedRate: Double(sorted.count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18),
            requests: total, errors: errors.next() - 1,
            p50Milliseconds: Percentile.of(sorted, 0.5), p99Milliseconds: Percentile.of(sorted, 0.99)
        )
    }

    private func send(_ client: HTTPClient, _ method: String, _ url: String, body: String? = nil) async throws -> (Data, Int) {
        try await Self.send(client, method, url, body: body)
    }

    private static func send(_ client: HTTPClient, _ method: String, _ url: String, body: String? = nil) async throws -> (Data, Int) {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        request.headers.add(name: "X-Client-Id", value: "bench-control")
        await request.authorize()
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            return (Data(buffer: try await response.body.collect(upTo: 16 * 1024 * 1024)), Int(response.status.code))
        } catch {
            throw CLIError("\(url) did not answer (\(error)); is `make up` running?")
        }
    }
}

/// Numbers several tasks append to.
final class SharedList: Sendable {
    private let storage = Mutex<[Double]>([])

    func append(_ value: Double) {
        storage.withLock { $0.append(value) }
    }

    var values: [Double] { storage.withLock { $0 } }
}
