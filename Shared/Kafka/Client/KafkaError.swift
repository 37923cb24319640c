/// The one error type of the `Kafka` module.
///
/// `code` is stable and meant for `switch`; `librdkafkaCode` carries librdkafka's own
/// error code (`rd_kafka_resp_err_t`) when the failure came from librdkafka.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A configuration property was rejected by librdkafka or by Ensemble's own checks.
        public static let configuration = Code("configuration")
        /// The broker could not be reached, or the connection failed.
        public static let connection = Code("connection")
        /// An operation did not finish within its deadline.
        public static let timeout = Code("timeout")
        /// A message could not be enqueued or was not delivered.
        public static let produce = Code("produce")
        /// The consumer failed (subscription, assignment or a fatal fetch error).
        public static let consume = Code("consume")
        /// An offset commit failed.
        public static let commit = Code("commit")
        /// An admin request (topic creation, metadata) failed.
        public static let admin = Code("admin")
        /// The client is shutting down or was shut down.
        public static let shutdown = Code("shutdown")
        /// The linked librdkafka is too old.
        public static let unsupportedVersion = Code("unsupportedVersion")
    }

    public let code: Code
    public let message: String
    /// librdkafka's error code (`rd_kafka_resp_err_t` as an integer), if any.
    public let librdkafkaCode: Int32?
    /// librdkafka's symbolic name for `librdkafkaCode`, e.g. `_TRANSPORT` or `NOT_LEADER_FOR_PARTITION`.
    public let librdkafkaName: String?
    /// Whether retrying the same operation later may succeed.
    public let isRetriable: Bool

    public init(code: Code, message: String, librdkafkaCode: Int32? = nil, librdkafkaName: String? = nil, isRetriable: Bool = false) {
        self.code = code
        self.message = message
        self.librdkafkaCode = librdkafkaCode
        self.librdkafkaName = librdkafkaName
        self.isRetriable = isRetriable
    }

    public var description: String {
        if let librdkafkaName {
            return "Kafka \(code) error: \(message) [\(librdkafkaName)]"
        }
        return "Kafka \(code) error: \(message)"
    }
}

extension KafkaError {
    static let shutdown = KafkaError(code: .shutdown, message: "the Kafka client is shut down")
}
