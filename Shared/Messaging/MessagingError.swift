/// The one error type of the `Messaging` module.
public struct MessagingError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The record is larger than the consumer accepts.
        public static let tooLarge = Code("too-large")
        /// A required envelope header is missing.
        public static let missingHeader = Code("missing-header")
        /// An envelope header is present but unreadable (a bad UUID or timestamp).
        public static let invalidHeader = Code("invalid-header")
        /// The body is not valid JSON for the declared message type.
        public static let malformedBody = Code("malformed-body")
        /// No handler knows the message's `message-type`.
        public static let unknownMessageType = Code("unknown-message-type")
        /// A handler refused the message for good (`MessageRejection`).
        public static let rejected = Code("rejected")
        /// A handler kept failing until its retry policy gave up.
        public static let handlerFailed = Code("handler-failed")
        /// The bus could not publish a message.
        public static let publishFailed = Code("publish-failed")
        /// A body could not be encoded.
        public static let encodingFailed = Code("encoding-failed")
    }

    public let code: Code
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// Thrown by a handler that refuses a message for good: retrying cannot help, so the
/// message goes to the dead-letter topic with this reason.
public struct MessageRejection: Error, Sendable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }
}
