/// The one error type of `ServiceKit`: configuration and start-up failures, each one
/// line a person can act on.
public struct ServiceKitError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A configuration value is missing or invalid.
        public static let invalidConfiguration = Code("invalid-configuration")
        /// A dependency (broker, database, port) is not available at start-up.
        public static let unavailable = Code("unavailable")
        /// A running service cannot go on (its supervisor restarts it).
        public static let serviceFailed = Code("service-failed")
        /// A scope name that does not exist.
        public static let unknownScope = Code("unknown-scope")
        /// A token signing secret that is too short.
        public static let invalidSecret = Code("invalid-secret")
        /// A bearer token with a bad signature, issuer or shape.
        public static let invalidToken = Code("invalid-token")
        /// A bearer token past its expiry.
        public static let expiredToken = Code("expired-token")
    }

    public let code: Code
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public static func invalid(_ key: String, _ value: String, expected: String) -> ServiceKitError {
        ServiceKitError(code: .invalidConfiguration, message: "\(key)='\(value)' is invalid: expected \(expected)")
    }

    /// Authentication is on and no secret says how tokens are signed.
    public static let missingSigningSecret = ServiceKitError(
        code: .invalidConfiguration,
        message: "AUTH_JWT_SECRET (or AUTH_JWT_SECRET_FILE) is not set: give the token signing secret (at least \(AccessTokens.minimumSecretBytes) bytes), or set AUTH=off to run without authentication"
    )

    public var description: String { message }
}
