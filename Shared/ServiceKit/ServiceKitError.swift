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

    public var description: String { message }
}
