import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Messaging

/// What the comparison asks the running stack over HTTP and reads from `/proc`.
struct StackProbe: Sendable {
    let urls: [ServiceName: URL]
    let session: URLSession

    init(urls: [ServiceName: String]) throws {
        var parsed: [ServiceName: URL] = [:]
        for (name, text) in urls {
            guard let url = URL(string: text) else { throw CLIError("--\(name)-url '\(text)' is not a URL") }
            parsed[name] = url
        }
        self.urls = parsed
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        configuration.httpMaximumConnectionsPerHost = 16
        session = URLSession(configuration: configuration)
    }

    func url(_ service: ServiceName, _ path: String) throws -> URL {
        guard let base = urls[service] else { throw CLIError("no URL for \(service)") }
        return base.appendingPathComponent(path)
    }

    func get(_ service: ServiceName, _ path: String, query: String? = nil) async throws -> (Int, Data) {
        var url = try url(service, path)
        if let query, let withQuery = URL(string: url.absoluteString + "?" + query) { url = withQuery }
        do {
            let (data, response) = try await session.data(for: await URLRequest.authorized(url))
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        } catch {
            throw CLIError("\(service) at \(urls[service]?.absoluteString ?? "?") did not answer (\(error.localizedDescription)); is `make up` running?")
        }
    }

    func send(_ method: String, _ service: ServiceName, _ path: String, query: String? = nil, json: String? = nil) async throws -> Int {
        var url = try url(service, path)
        if let query, let withQuery = URL(string: url.absoluteString + "?" + query) { url = withQuery }
        var request = await URLRequest.authorized(url)
        request.httpMethod = method
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(json.utf8)
        }
        do {
            let (_, response) = try await session.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        } catch {
            throw CLIError("\(service) at \(urls[service]?.absoluteString ?? "?") did not answer (\(error.localizedDescription)); is `make up` running?")
        }
    }

    func setStock(_ sku: String, onHand: Int) async throws {
        let status = try await send("PUT", .inventory, "stock/\(sku)", json: #"{"onHand": \#(onHand)}"#)
        guard status == 200 else { throw CLIError("setting the stock of \(sku) failed (HTTP \(status))") }
    }

    func stock(_ sku: String) async throws -> (onHand: Int, reserved: Int) {
        let (status, data) = try await get(.inventory, "stock/\(sku)")
        guard status == 200, let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let onHand = object["onHand"] as? Int, let reserved = object["reserved"] as? Int else {
            throw CLIError("reading the stock of \(sku) failed (HTTP \(status))")
        }
        return (onHand, reserved)
    }

    /// The statuses of `order`'s payment and reservations, from the services themselves.
    func effects(of order: String) async throws -> (payment: String?, reservations: [String]) {
        let (_, payments) = try await get(.payment, "payments", query: "orderId=\(order)")
        let (_, reservations) = try await get(.inventory, "reservations", query: "orderId=\(order)")
        let payment = ((try? JSONSerialization.jsonObject(with: payments)) as? [[String: Any]])?.first.flatMap { ($0["payment"] as? [String: Any])?["status"] as? String }
        let statuses = ((try? JSONSerialization.jsonObject(with: reservations)) as? [[String: Any]])?.compactMap { $0["status"] as? String } ?? []
        return (payment, statuses)
    }

    func isReady(_ service: ServiceName) async -> Bool {
        guard let url = try? url(service, "health/ready"), let (_, response) = try? await session.data(from: url) else { return false }
        return (response as? HTTPURLResponse)?.statusCode == 200
    }

    /// Seconds spent in message handlers so far, per service, from the stack's `/metrics`
    /// (`ensemble_message_handler_duration_seconds_sum`; consumers `orchestrator` and
    /// `orchestrator-choreography` count as the orchestrator).
    func handlerSeconds() async -> [String: Double] {
        guard let (status, data) = try? await get(.orchestrator, "metrics"), status == 200 else { return [:] }
        var seconds: [String: Double] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("ensemble_message_handler_duration_seconds_sum{") {
            guard let start = line.range(of: "consumer=\""), let end = line[start.upperBound...].firstIndex(of: "\""),
                  let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            let consumer = String(line[start.upperBound..<end])
            let service = String(consumer.split(separator: "-").first ?? Substring(consumer))
            seconds[service, default: 0] += value
        }
        return seconds
    }
}

/// CPU time of processes, from `/proc/<pid>/stat`.
enum ProcessCPU {
    /// Every process's id and command line (its arguments), from `/proc`.
    static var processes: [(pid: Int32, arguments: [String])] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).compactMap { pid in
            guard let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return nil }
            return (pid, command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
        }
    }

    /// The pid of the first process whose command line matches.
    static func find(_ matches: ([String]) -> Bool) -> Int32? {
        processes.first { matches($0.arguments) }?.pid
    }

    static var stack: Int32? { find { $0.first?.hasSuffix("ensemble") == true && $0.dropFirst().first == "up" } }
    /// The embedded broker `ensemble up` started (a `tansu` child of the stack), or any `tansu`.
    static var broker: Int32? {
        let stack = self.stack
        let brokers = processes.filter { $0.arguments.first?.hasSuffix("tansu") == true }.map(\.pid)
        return brokers.first { parent(of: $0) == stack } ?? brokers.first
    }

    /// The processes of a stack started with `ensemble up --processes`, by service: the
    /// executables are `ensemble-<service>`, and replicas of one service are listed together.
    static var services: [String: [Int32]] {
        var found: [String: [Int32]] = [:]
        for (pid, arguments) in processes {
            guard let program = arguments.first, let service = service(ofProgram: program) else { continue }
            found[service, default: []].append(pid)
        }
        return found
    }

    /// `payment` for `…/ensemble-payment`; nil for anything else.
    static func service(ofProgram program: String) -> String? {
        let name = program.split(separator: "/").last.map(String.init) ?? program
        guard name.hasPrefix("ensemble-") else { return nil }
        let service = name.dropFirst("ensemble-".count)
        guard !service.isEmpty, service.allSatisfy({ ("a"..."z").contains($0) }) else { return nil }
        return String(service)
    }

    /// CPU seconds of each service's processes together (see `services`).
    static func seconds(of services: [String: [Int32]]) -> [String: Double] {
        services.mapValues { pids in pids.compactMap { seconds($0) }.reduce(0, +) }
    }

    static func parent(of pid: Int32) -> Int32? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// User plus system CPU seconds of `pid` (and its finished children), or nil.
    static func seconds(_ pid: Int32?) -> Double? {
        guard let pid, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is field 3; utime, stime are 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
