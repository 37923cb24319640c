import Hummingbird
import Logging

/// How a service's HTTP API checks its callers: bearer tokens with scopes, or — only when
/// a setting says so explicitly (`AUTH=off`) — nobody at all.
public struct AccessControl: Sendable {
    /// nil when authentication is off.
    public let tokens: AccessTokens?
    /// Whether `/metrics` is open (the default, for a scraper without credentials) or needs `admin`.
    public let metricsOpen: Bool

    public init(tokens: AccessTokens?, metricsOpen: Bool = true) {
        self.tokens = tokens
        self.metricsOpen = metricsOpen
    }

    /// Every caller allowed (tests, and `AUTH=off`).
    public static let off = AccessControl(tokens: nil)

    public var isOff: Bool { tokens == nil }

    /// From the settings: tokens under their secret, or off.
    public static func make(_ settings: AccessSettings) async throws(ServiceKitError) -> AccessControl {
        switch settings.mode {
        case .off: AccessControl(tokens: nil, metricsOpen: settings.metricsOpen)
        case .tokens(let secret): AccessControl(tokens: try await AccessTokens.make(secret: secret), metricsOpen: settings.metricsOpen)
        }
    }

    /// The middleware of a route that needs `scope`.
    public func require(_ scope: Scope) -> RequireScope {
        RequireScope(scope: scope, tokens: tokens)
    }
}

/// Lets a request through when it carries a valid bearer token with `scope`: 401 without a
/// token or with one that is invalid or expired, 403 without the scope — both JSON errors
/// naming the scope, with `WWW-Authenticate` as RFC 6750 describes it.
public struct RequireScope: RouterMiddleware {
    public typealias Context = BasicRequestContext

    let scope: Scope
    let tokens: AccessTokens?

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let tokens else { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer "),
              case let token = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces), !token.isEmpty
        else {
            throw APIError(.unauthorized, code: "unauthenticated", message: "this route needs a bearer token with the \(scope.rawValue) scope",
                           headers: [.wwwAuthenticate: "Bearer scope=\"\(scope.rawValue)\""])
        }
        let claims: AccessClaims
        do {
            claims = try await tokens.verify(token)
        } catch {
            throw APIError(.unauthorized, code: error.code.rawValue, message: "\(error.message); this route needs the \(scope.rawValue) scope",
                           headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\", scope=\"\(scope.rawValue)\""])
        }
        guard claims.scopes.contains(scope) else {
            throw APIError(.forbidden, code: "insufficient-scope", message: "the token of \(claims.sub.value) lacks the \(scope.rawValue) scope this route needs",
                           headers: [.wwwAuthenticate: "Bearer error=\"insufficient_scope\", scope=\"\(scope.rawValue)\""])
        }
        var context = context
        context.logger[metadataKey: "auth.subject"] = "\(claims.sub.value)"
        return try await next(request, context)
    }
}
