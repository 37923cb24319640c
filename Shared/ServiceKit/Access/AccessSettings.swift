import Configuration
import Foundation

/// The access settings of a service: `AUTH` (`on` unless `off`), the token signing secret
/// (`AUTH_JWT_SECRET`, or `AUTH_JWT_SECRET_FILE` naming a file that holds it), and
/// `AUTH_METRICS` (`open`, the default, or `protected`: `/metrics` then needs `admin`).
public struct AccessSettings: Sendable, Hashable {
    public enum Mode: Sendable, Hashable {
        /// Bearer tokens signed with this secret.
        case tokens(secret: String)
        /// No authentication (`AUTH=off`); start-up warns about it.
        case off
    }

    public var mode: Mode
    public var metricsOpen: Bool

    public init(mode: Mode, metricsOpen: Bool = true) {
        self.mode = mode
        self.metricsOpen = metricsOpen
    }

    public static let off = AccessSettings(mode: .off)

    /// The settings `reader` holds; nil when authentication is on but no secret is given
    /// (a service alone refuses to start then; `ensemble up` supplies a development one).
    public static func read(_ reader: ConfigReader) throws(ServiceKitError) -> AccessSettings? {
        var metricsOpen = true
        if let text = reader.string(forKey: "auth.metrics") {
            guard ["open", "protected"].contains(text) else { throw .invalid("AUTH_METRICS", text, expected: "open or protected") }
            metricsOpen = text == "open"
        }
        if let text = reader.string(forKey: "auth") {
            guard ["on", "off"].contains(text) else { throw .invalid("AUTH", text, expected: "on or off") }
            if text == "off" { return AccessSettings(mode: .off, metricsOpen: metricsOpen) }
        }
        if let secret = reader.string(forKey: "auth.jwt.secret", isSecret: true), !secret.isEmpty {
            guard secret.utf8.count >= AccessTokens.minimumSecretBytes else {
                throw .invalid("AUTH_JWT_SECRET", "(\(secret.utf8.count) bytes)", expected: "at least \(AccessTokens.minimumSecretBytes) bytes")
            }
            return AccessSettings(mode: .tokens(secret: secret), metricsOpen: metricsOpen)
        }
        if let path = reader.string(forKey: "auth.jwt.secret.file"), !path.isEmpty {
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw .invalid("AUTH_JWT_SECRET_FILE", path, expected: "a readable file holding the signing secret")
            }
            let secret = contents.trimmingCharacters(in: .whitespacesAndNewlines)
            guard secret.utf8.count >= AccessTokens.minimumSecretBytes else {
                throw .invalid("AUTH_JWT_SECRET_FILE", path, expected: "a file holding at least \(AccessTokens.minimumSecretBytes) bytes of secret")
            }
            return AccessSettings(mode: .tokens(secret: secret), metricsOpen: metricsOpen)
        }
        return nil
    }
}
