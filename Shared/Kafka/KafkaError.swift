import CRdKafka

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
    /// Builds an error from a librdkafka response code.
    static func librdkafka(_ code: Code, _ err: rd_kafka_resp_err_t, context: String? = nil) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(err))
        let name = String(cString: rd_kafka_err2name(err))
        return KafkaError(
            code: code,
            message: context.map { "\($0): \(text)" } ?? text,
            librdkafkaCode: err.rawValue,
            librdkafkaName: name,
            isRetriable: Self.retriable.contains(err)
        )
    }

    /// Builds an error from a librdkafka `rd_kafka_error_t`, destroying it.
    static func consuming(_ code: Code, _ error: OpaquePointer, context: String? = nil) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let err = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        return KafkaError(
            code: code,
            message: context.map { "\($0): \(text)" } ?? text,
            librdkafkaCode: err.rawValue,
            librdkafkaName: String(cString: rd_kafka_err2name(err)),
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || Self.retriable.contains(err)
        )
    }

    static let shutdown = KafkaError(code: .shutdown, message: "the Kafka client is shut down")

    /// librdkafka codes after which the same request may succeed later.
    private static let retriable: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR__TRANSPORT,
        RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__QUEUE_FULL,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
        RD_KAFKA_RESP_ERR__WAIT_COORD,
        RD_KAFKA_RESP_ERR__RESOLVE,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
    ]
}
