import AsyncHTTPClient
import Contracts
import Foundation
import Messaging
import NIOCore
import NIOHTTP1
import OrchestratorCore

/// A small client for the orchestrator's HTTP API, for the CLI and the benchmarks, over
/// the CLI's AsyncHTTPClient (`CLIHTTP`: pooled keep-alive connections on an event loop).
/// The saga benchmark used `URLSession`, whose curl-based Linux implementation cost the
/// load generator — on the same two cores as the stack — more CPU per order than some of
/// the services it measured (Docs/performance.md).
struct OrchestratorClient: Sendable {
    let baseURL: URL

    init(url: String) throws {
        guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https" else {
            throw CLIError("--url '\(url)' is not an http(s) URL")
        }
        baseURL = base
    }

    func place(_ order: OrderRequest, idempotencyKey: String? = nil) async throws -> OrderAccepted {
        var headers = HTTPHeaders([("Content-Type", "application/json")])
        if let idempotencyKey { headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        return try await send(.POST, baseURL.appendingPathComponent("orders"), headers: headers, body: try MessageCoding.encode(order), as: OrderAccepted.self)
    }

    func order(_ id: String) async throws -> AnyOrderView {
        try await send(.GET, baseURL.appendingPathComponent("orders").appendingPathComponent(id), as: AnyOrderView.self)
    }

    func breakers() async throws -> [BreakerView] {
        try await send(.GET, baseURL.appendingPathComponent("breakers"), as: [BreakerView].self)
    }

    func retry(_ id: String) async throws -> OrderView {
        try await send(.POST, baseURL.appendingPathComponent("orders").appendingPathComponent(id).appendingPathComponent("retry"), as: OrderView.self)
    }

    private func send<T: Decodable>(
        _ method: HTTPMethod, _ url: URL, headers: HTTPHeaders = [:], body: Data? = nil, as type: T.Type
    ) async throws -> T {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        await request.authorize()
        let (status, data): (Int, Data)
        do {
            let response = try await CLIHTTP.client.execute(request, timeout: .seconds(10))
            let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
            (status, data) = (Int(response.status.code), Data(buffer.readableBytesView))
        } catch {
            throw CLIError("the orchestrator at \(baseURL.absoluteString) did not answer (\(CLIHTTP.reason(error))); is `make up` running?")
        }
        guard (200..<300).contains(status) else {
            let message = (try? JSONSerialization.jsonObject(with: data) as? [String: [String: String]])?["error"]?["message"]
            throw CLIError("HTTP \(status): \(message ?? String(decoding: data, as: UTF8.self))")
        }
        return try MessageCoding.decode(T.self, from: data)
    }
}

/// The CLI's HTTP client, for the orchestrator and the aggregator: AsyncHTTPClient's
/// defaults, except that a connection that cannot be made fails the request at once (its
/// shared client retries it until the request's deadline, so `ensemble order show` with the
/// stack down waited 10 s).
enum CLIHTTP {
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Why a request got no answer, in a few words: NIO's own text for a refused
    /// connection reads "connection reset (error set): Connection refused (errno: 111)".
    static func reason(_ error: any Error) -> String {
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode)).lowercased()
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return "no answer in time"
            case .connectTimeout: return "the connection timed out"
            case .remoteConnectionClosed: return "the connection was closed"
            default: break
            }
        }
        return "\(error)"
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
