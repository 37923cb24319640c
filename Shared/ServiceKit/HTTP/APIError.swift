import Foundation
import Hummingbird
import Messaging

/// An HTTP error with a stable code, rendered as `{"error": {"code": ..., "message": ...}}`.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    /// Headers the response carries besides the content type (`WWW-Authenticate`, `Allow`).
    public let headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public static func badRequest(_ message: String, code: String = "bad-request") -> APIError {
        APIError(.badRequest, code: code, message: message)
    }

    public static func notFound(_ message: String) -> APIError {
        APIError(.notFound, code: "not-found", message: message)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder.sortedKeys.encode(["error": ["code": code, "message": message]])
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Request {
    /// Decodes a JSON body as `T`. A malformed body is a 400 whose message names the field.
    public func decodeJSON<T: Decodable>(_ type: T.Type, context: some RequestContext, maxSize: Int = 1 << 20) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: maxSize)
        } catch {
            throw APIError(.contentTooLarge, code: "body-too-large", message: "the request body is larger than \(maxSize) bytes")
        }
        guard buffer.readableBytes > 0 else {
            throw APIError.badRequest("the request body is empty; expected JSON", code: "invalid-body")
        }
        do {
            return try MessageCoding.decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw APIError.badRequest(MessageCoding.explain(error), code: "invalid-body")
        }
    }
}

/// Turns every error a route throws into the JSON error shape: `APIError`s keep their
/// status; anything else is a 500 whose details go to the log, not to the client. A path
/// that exists with other methods is a 405 with `Allow`, not a 404.
public struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable?

    public init(routes: RouteTable? = nil) {
        self.routes = routes
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes?.methods(matching: request.uri.path) ?? []
            guard !allowed.isEmpty else { throw APIError(.notFound, code: "not-found", message: error.body ?? "no such route") }
            let names = Set(allowed.map(\.rawValue)).sorted()
            throw APIError(.methodNotAllowed, code: "method-not-allowed", message: "\(request.uri.path) answers \(names.joined(separator: ", ")), not \(request.method.rawValue)",
                           headers: [.allow: names.joined(separator: ", ")])
        } catch let error as HTTPError {
            let code = error.status == .notFound ? "not-found" : "http-\(error.status.code)"
            throw APIError(error.status, code: code, message: error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("request failed", metadata: [LogKey.error: "\(error)", "path": "\(request.uri.path)"])
            throw APIError(.internalServerError, code: "internal", message: "internal error; see the service log")
        }
    }
}

extension Request {
    /// The query parameter `name`; a 400 naming it when it is missing or empty.
    public func requiredQuery(_ name: String) throws -> String {
        guard let value = uri.queryParameters[Substring(name)].map(String.init), !value.isEmpty else {
            throw APIError.badRequest("the \(name) query parameter is required", code: "missing-parameter")
        }
        return value
    }
}
