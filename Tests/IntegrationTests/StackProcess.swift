import DevTools
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MessagingTesting
import ServiceKit
import Testing

/// `ensemble up` as a child process, as a person runs it: its own embedded broker on a
/// free port, its own HTTP ports and data directory. `kill9()` kills the stack and its
/// broker with SIGKILL, so everything the broker held in memory is lost, as when the
/// machine loses power.
final class StackProcess: @unchecked Sendable {
    // Written once in `start`, then only read; the tests drive one instance from one task.
    let directory: URL
    let brokerPort: Int
    let ports: [String: Int]
    let environment: [String: String]
    /// The stack's token signing secret (its own per test); requests carry a token signed with it.
    let secret = "test-secret-" + UUID().uuidString + UUID().uuidString
    private var process: ChildProcess?
    private let token = Locked<String?>(nil)

    static let services = ["orchestrator", "aggregator", "payment", "inventory", "shipping", "profile"]

    init(environment extra: [String: String] = [:]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.unique("stack-process"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Below the ephemeral range, and apart by more than 100 (replicas of `--processes`
        // listen on port + 100 n): a port the kernel hands out for outgoing connections
        // was once taken between choosing it and binding it.
        brokerPort = try EmbeddedBroker.freeListeningPort()
        var ports: [String: Int] = [:]
        for service in Self.services {
            var port = try EmbeddedBroker.freeListeningPort(in: 20_000...30_000)
            while ports.values.contains(where: { abs($0 - port) <= 300 }) { port = try EmbeddedBroker.freeListeningPort(in: 20_000...30_000) }
            ports[service] = port
        }
        self.ports = ports
        var environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": ProcessInfo.processInfo.environment["HOME"] ?? "/root",
            "DATA_DIRECTORY": directory.appendingPathComponent("data").path,
            "LOG_LEVEL": "notice",
            "AUTH_JWT_SECRET": secret,
        ]
        for (service, port) in ports { environment["\(service.uppercased())_HTTP_PORT"] = String(port) }
        environment.merge(extra) { _, new in new }
        self.environment = environment
    }

    var logPath: String { directory.appendingPathComponent("stack.log").path }
    var pid: Int32? { process?.pid }

    func url(_ service: String, _ path: String, replica: Int = 0) -> URL {
        URL(string: "http://127.0.0.1:\(ports[service]! + 100 * replica)\(path)")!
    }

    /// The process id `ensemble up --processes` printed last for `label` (`payment#2`).
    func pid(of label: String) -> Int32? {
        logText.split(separator: "\n").last { $0.hasPrefix("\(label) started: pid ") }
            .flatMap { $0.dropFirst("\(label) started: pid ".count).split(separator: ",").first }
            .flatMap { Int32($0) }
    }

    /// Starts `ensemble up` and waits until every service reports ready.
    /// `arguments` other than `up` (such as `--processes`) and how many instances of each
    /// service to wait for (replica n of a service listens on its port + 100 n).
    func start(timeout: Duration = .seconds(60), arguments: [String] = ["up"], instances: [String: Int] = [:]) async throws {
        let binary = try EnsembleBinary.path
        let process = try ChildProcess(
            binary, arguments + ["--broker-port", String(brokerPort)], environment: environment, directory: directory.path, output: logPath
        )
        self.process = process
        try await eventually("every service of `ensemble up` to be ready (log: \(logPath))", timeout: timeout) {
            guard process.isRunning else { throw StackExited(log: self.tail()) }
            for service in Self.services {
                for replica in 0..<(instances[service] ?? 1) {
                    if try await self.status(service, "/health/ready", replica: replica) != 200 { return false }
                }
            }
            return true
        }
    }

    /// SIGKILL to the stack and to its embedded broker (its own process, named in its pid file).
    func kill9() {
        guard let process, process.isRunning else { return }
        let brokerPID = (try? String(contentsOfFile: brokerPIDPath, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        process.send(SIGKILL)
        if let brokerPID { kill(brokerPID, SIGKILL) }
        process.waitBlocking(timeout: 10)
    }

    /// SIGTERM, as Ctrl-C would, then SIGKILL (the broker with it) if it has not exited
    /// within 20 s. The waiting happens on a thread of its own: `stop` runs in tests'
    /// `defer`, on the cooperative pool that every suite of the run shares, and a blocking
    /// wait there held up unrelated tests past their deadlines.
    func stop() {
        guard let process, process.isRunning else { return }
        process.send(SIGTERM)
        let brokerPIDPath = self.brokerPIDPath
        Thread.detachNewThread {
            guard process.waitBlocking(timeout: 20) == nil else { return }
            // It did not stop in time: its broker would be left behind.
            let brokerPID = (try? String(contentsOfFile: brokerPIDPath, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            process.send(SIGKILL)
            if let brokerPID { kill(brokerPID, SIGKILL) }
            process.waitBlocking(timeout: 5)
        }
    }

    private var brokerPIDPath: String { directory.appendingPathComponent(".ensemble/broker-\(brokerPort).pid").path }


    var isRunning: Bool { process?.isRunning ?? false }

    func tail(_ lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    var logText: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The JSON log lines, decoded.
    var logLines: [[String: Any]] {
        logText.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    deinit {
        stop()
    }

    // MARK: - HTTP

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        configuration.httpMaximumConnectionsPerHost = 64
        return URLSession(configuration: configuration)
    }()

    /// A request for `url` with a bearer token of every scope, signed with the stack's secret.
    func authorized(_ url: URL) async throws -> URLRequest {
        var request = URLRequest(url: url)
        if let token = token.withLock({ $0 }) {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            return request
        }
        let minted = try await AccessTokens.make(secret: secret).issue(subject: "tests", scopes: Scope.allCases, lifetime: .seconds(3600))
        token.withLock { $0 = minted }
        request.setValue("Bearer \(minted)", forHTTPHeaderField: "Authorization")
        return request
    }

    /// The status code of a GET, or 0 when nothing answers.
    func status(_ service: String, _ path: String, replica: Int = 0) async throws -> Int {
        do {
            let (_, response) = try await Self.session.data(for: try await authorized(url(service, path, replica: replica)))
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        } catch {
            return 0
        }
    }

    func get(_ service: String, _ path: String) async throws -> (Int, Data) {
        let (data, response) = try await Self.session.data(for: try await authorized(url(service, path)))
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    func json(_ service: String, _ path: String) async throws -> Any {
        let (status, data) = try await get(service, path)
        guard status == 200 else { throw HTTPFailure(status: status, body: String(decoding: data, as: UTF8.self)) }
        return try JSONSerialization.jsonObject(with: data)
    }

    func post(_ service: String, _ path: String, json body: String, headers: [String: String] = [:]) async throws -> (Int, Data) {
        var request = try await authorized(url(service, path))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = Data(body.utf8)
        let (data, response) = try await Self.session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// Places a small order; returns its id.
    func placeOrder(customer: String = "bob", sku: String = "SKU-COFFEE", quantity: Int = 1, key: String? = nil, mode: String = "orchestration") async throws -> String {
        let body = """
        {"customerId": "\(customer)", "items": [{"sku": "\(sku)", "quantity": \(quantity), "unitPrice": "9.99"}],
         "payment": {"card": "4111111111111111"}, "mode": "\(mode)",
         "shipTo": {"name": "Test", "line1": "1 Test St", "city": "Testville", "postalCode": "12345", "country": "US"}}
        """
        let (status, data) = try await post("orchestrator", "/orders", json: body, headers: key.map { ["Idempotency-Key": $0] } ?? [:])
        guard status == 202 || status == 200,
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], let id = object["orderId"] as? String else {
            throw HTTPFailure(status: status, body: String(decoding: data, as: UTF8.self))
        }
        return id
    }

    /// The order's saga status (`running`, `completed`, ...).
    func orderStatus(_ id: String) async throws -> String? {
        let object = try await json("orchestrator", "/orders/\(id)") as? [String: Any]
        return object?["status"] as? String
    }
}

struct StackExited: Error, CustomStringConvertible {
    let log: String
    var description: String { "`ensemble up` exited; its log ends with:\n\(log)" }
}

struct HTTPFailure: Error, CustomStringConvertible {
    let status: Int
    let body: String
    var description: String { "HTTP \(status): \(body)" }
}
