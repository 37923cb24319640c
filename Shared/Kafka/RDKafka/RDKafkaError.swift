import CRdKafka

/// Errors from librdkafka's codes: the only place that reads `rd_kafka_resp_err_t`.
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

    /// librdkafka's queue is full (`send` waits for deliveries and tries again).
    var isQueueFull: Bool { librdkafkaCode == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue }
}
