import Foundation
import JWTKit

/// Issues and verifies the bearer tokens every service's HTTP API asks for: JWTs signed
/// with HMAC-SHA256 under one secret that every service of a deployment shares (jwt-kit).
///
/// A shared secret keeps a local stack to one setting; a service that holds it can also
/// issue tokens, which is acceptable inside one trust boundary (the services already share
/// a broker) and is what the aggregator does for its live reads. A deployment that wants
/// verification without the power to issue would put an asymmetric key (ES256, EdDSA) here;
/// jwt-kit supports those the same way.
public final class AccessTokens: Sendable {
    /// `iss` of every token Ensemble issues, checked on every token it accepts.
    public static let issuer = "ensemble"
    /// Shortest secret accepted: 256 bits, the size of the HMAC-SHA256 key.
    public static let minimumSecretBytes = 32

    private let keys: JWTKeyCollection

    private init(keys: JWTKeyCollection) {
        self.keys = keys
    }

    /// Tokens under `secret` (at least `minimumSecretBytes` bytes).
    public static func make(secret: String) async throws(ServiceKitError) -> AccessTokens {
        guard secret.utf8.count >= minimumSecretBytes else {
            throw ServiceKitError(code: .invalidSecret, message: "the signing secret has \(secret.utf8.count) bytes; at least \(minimumSecretBytes) are needed")
        }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return AccessTokens(keys: keys)
    }

    /// A token for `subject` with `scopes`, valid for `lifetime` from `now`.
    public func issue(subject: String, scopes: [Scope], lifetime: Duration, now: Date = Date()) async throws -> String {
        let seconds = Double(lifetime.components.seconds) + Double(lifetime.components.attoseconds) / 1e18
        let claims = AccessClaims(
            sub: SubjectClaim(value: subject), iss: IssuerClaim(value: Self.issuer), iat: IssuedAtClaim(value: now),
            exp: ExpirationClaim(value: now.addingTimeInterval(seconds)), scope: scopes.map(\.rawValue).joined(separator: " ")
        )
        return try await keys.sign(claims)
    }

    /// The claims of a token this deployment issued and that has not expired.
    public func verify(_ token: String) async throws(ServiceKitError) -> AccessClaims {
        do {
            return try await keys.verify(token, as: AccessClaims.self)
        } catch is TokenExpired {
            throw ServiceKitError(code: .expiredToken, message: "the bearer token has expired")
        } catch {
            throw ServiceKitError(code: .invalidToken, message: "the bearer token is not valid here (bad signature, issuer or shape)")
        }
    }
}

/// What an Ensemble token says: who, which scopes, until when.
public struct AccessClaims: JWTPayload, Sendable {
    public var sub: SubjectClaim
    public var iss: IssuerClaim
    public var iat: IssuedAtClaim
    public var exp: ExpirationClaim
    /// Space-separated scope names.
    public var scope: String

    /// The scopes this deployment knows (names it does not know are ignored).
    public var scopes: Set<Scope> { Set(scope.split(separator: " ").compactMap { Scope(rawValue: String($0)) }) }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        guard Date() < exp.value else { throw TokenExpired() }
        guard iss.value == AccessTokens.issuer else {
            throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "not issued by \(AccessTokens.issuer)")
        }
    }
}

/// Thrown by `AccessClaims.verify` for a token past its `exp`, so it can be told apart.
struct TokenExpired: Error {}
