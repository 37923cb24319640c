import Foundation
import Synchronization

/// The token a service presents when it calls another service's API (the aggregator's live
/// reads): issued from the deployment's secret for the scopes it needs, and issued again
/// when less than a tenth of its lifetime is left.
public final class ServiceToken: Sendable {
    private let tokens: AccessTokens
    private let subject: String
    private let scopes: [Scope]
    private let lifetime: Duration
    private let current = Mutex<(token: String, renewAt: Date)?>(nil)

    public init(tokens: AccessTokens, subject: String, scopes: [Scope], lifetime: Duration = .seconds(3600)) {
        self.tokens = tokens
        self.subject = subject
        self.scopes = scopes
        self.lifetime = lifetime
    }

    /// `Bearer <token>`, for the `Authorization` header.
    public func authorization() async throws -> String {
        let now = Date()
        if let (token, renewAt) = current.withLock({ $0 }), now < renewAt { return "Bearer \(token)" }
        let token = try await tokens.issue(subject: subject, scopes: scopes, lifetime: lifetime, now: now)
        let seconds = Double(lifetime.components.seconds) * 0.9
        current.withLock { $0 = (token, now.addingTimeInterval(seconds)) }
        return "Bearer \(token)"
    }
}
