import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Contracts
import Messaging
import OrchestratorCore

/// A small client for the orchestrator's HTTP API, for the CLI and the saga benchmark.
struct OrchestratorClient: Sendable {
    let baseURL: URL
    let session: URLSession

    init(url: String) throws {
        guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https" else {
            throw CLIError("--url '\(url)' is not an http(s) URL")
        }
        baseURL = base
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        configuration.httpMaximumConnectionsPerHost = 64
        session = URLSession(configuration: configuration)
    }

    func place(_ order: OrderRequest, idempotencyKey: String? = nil) async throws -> OrderAccepted {
        var request = URLRequest(url: baseURL.appendingPathComponent("orders"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let idempotencyKey { request.setValue(idempotencyKey, forHTTPHeaderField: "Idempotency-Key") }
        request.httpBody = try MessageCoding.encode(order)
        return try await send(request, as: OrderAccepted.self)
    }

    func order(_ id: String) async throws -> AnyOrderView {
        try await send(URLRequest(url: baseURL.appendingPathComponent("orders").appendingPathComponent(id)), as: AnyOrderView.self)
    }

    func breakers() async throws -> [BreakerView] {
        try await send(URLRequest(url: baseURL.appendingPathComponent("breakers")), as: [BreakerView].self)
    }

    func retry(_ id: String) async throws -> OrderView {
        var request = URLRequest(url: baseURL.appendingPathComponent("orders").appendingPathComponent(id).appendingPathComponent("retry"))
        request.httpMethod = "POST"
        return try await send(request, as: OrderView.self)
    }

    private func send<T: Decodable>(_ request: URLRequest, as type: T.Type) async throws -> T {
        var request = request
        await request.authorize()
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw CLIError("the orchestrator at \(baseURL.absoluteString) did not answer (\(error.localizedDescription)); is `make up` running?")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let message = (try? JSONSerialization.jsonObject(with: data) as? [String: [String: String]])?["error"]?["message"]
            throw CLIError("HTTP \(status): \(message ?? String(decoding: data, as: UTF8.self))")
        }
        return try MessageCoding.decode(T.self, from: data)
    }
}

/// `GET /orders/{id}`: an orchestrated order (its saga) or a choreographed one (its events).
enum AnyOrderView: Decodable, Encodable {
    case orchestrated(OrderView)
    case choreographed(ChoreographedOrderView)

    private enum Keys: String, CodingKey { case mode }

    init(from decoder: any Decoder) throws {
        let mode = try decoder.container(keyedBy: Keys.self).decodeIfPresent(CheckoutMode.self, forKey: .mode)
        self = mode == .choreography ? .choreographed(try ChoreographedOrderView(from: decoder)) : .orchestrated(try OrderView(from: decoder))
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .orchestrated(let view): try view.encode(to: encoder)
        case .choreographed(let view): try view.encode(to: encoder)
        }
    }

    var isFinished: Bool {
        switch self {
        case .orchestrated(let view): view.status.isFinished
        case .choreographed(let view): view.status.isFinished
        }
    }

    var statusText: String {
        switch self {
        case .orchestrated(let view): view.status.rawValue
        case .choreographed(let view): view.status.rawValue
        }
    }
}

/// An error the CLI reports as one line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
