import CRdKafka
import Logging

/// A topic to create.
public struct KafkaTopicSpec: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    /// `-1` uses the broker's default replication factor.
    public var replicationFactor: Int

    public init(name: String, partitions: Int, replicationFactor: Int = -1) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}

/// Cluster administration: topic creation and metadata. Every call is bounded by a timeout
/// and runs its blocking librdkafka work off the cooperative thread pool.
public struct KafkaAdmin: Sendable {
    private let client: RDKafkaClient
    private let servers: String

    public init(configuration: KafkaClientConfiguration, logger: Logger) throws(KafkaError) {
        var properties = configuration.baseProperties
        properties.merge(configuration.properties) { _, new in new }
        client = try RDKafkaClient(kind: .producer, properties: properties, callbacks: RDKafkaCallbacks(logger: logger), logger: logger)
        servers = configuration.bootstrapServers.joined(separator: ",")
    }

    /// The cluster's brokers and topics. Throws `.connection` when no broker answers within `timeout`.
    public func metadata(timeout: Duration) async throws(KafkaError) -> KafkaClusterMetadata {
        try await client.checkConnection(servers: servers, timeout: timeout)
    }

    /// Creates the topics that do not exist yet; existing topics are left as they are.
    /// Returns the names of the topics it created.
    @discardableResult
    public func createTopics(_ topics: [KafkaTopicSpec], timeout: Duration) async throws(KafkaError) -> [String] {
        guard !topics.isEmpty else { return [] }
        let client = self.client
        return try await DedicatedThread.perform { () throws(KafkaError) -> [String] in
            try Self.createTopicsBlocking(client: client, topics: topics, timeout: timeout)
        }
    }

    private static func createTopicsBlocking(client: RDKafkaClient, topics: [KafkaTopicSpec], timeout: Duration) throws(KafkaError) -> [String] {
        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { errorText.deallocate() }
        var newTopics: [OpaquePointer?] = []
        defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
        for topic in topics {
            guard let newTopic = rd_kafka_NewTopic_new(topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), errorText, 512) else {
                throw KafkaError(code: .admin, message: "topic \(topic.name): \(String(cString: errorText))")
            }
            newTopics.append(newTopic)
        }
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, errorText, 512)
        rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, errorText, 512)

        let queue = rd_kafka_queue_new(client.handle)
        defer { rd_kafka_queue_destroy(queue) }
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, queue)
        }
        // The request timeout bounds the wait; the margin covers connection set-up.
        guard let event = rd_kafka_queue_poll(queue, milliseconds + 1000) else {
            throw KafkaError(code: .timeout, message: "creating topics took longer than \(timeout)", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.librdkafka(.admin, eventError, context: "create topics")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(code: .admin, message: "create topics: unexpected event \(String(cString: rd_kafka_event_name(event)))")
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [] }
        var created: [String] = []
        for index in 0..<count {
            let topicResult = results[index]
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let err = rd_kafka_topic_result_error(topicResult)
            switch err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                created.append(name)
            case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
                continue
            default:
                let detail = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) }
                throw KafkaError.librdkafka(.admin, err, context: "create topic \(name)" + (detail.map { " (\($0))" } ?? ""))
            }
        }
        return created
    }

    /// Deletes `topics`; topics that do not exist are ignored. Returns the names it deleted.
    @discardableResult
    public func deleteTopics(_ topics: [String], timeout: Duration) async throws(KafkaError) -> [String] {
        guard !topics.isEmpty else { return [] }
        let client = self.client
        return try await DedicatedThread.perform { () throws(KafkaError) -> [String] in
            try Self.deleteTopicsBlocking(client: client, topics: topics, timeout: timeout)
        }
    }

    private static func deleteTopicsBlocking(client: RDKafkaClient, topics: [String], timeout: Duration) throws(KafkaError) -> [String] {
        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { errorText.deallocate() }
        var deletions: [OpaquePointer?] = topics.map { rd_kafka_DeleteTopic_new($0) }
        defer { deletions.forEach { rd_kafka_DeleteTopic_destroy($0) } }
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_DELETETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, errorText, 512)
        rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, errorText, 512)

        let queue = rd_kafka_queue_new(client.handle)
        defer { rd_kafka_queue_destroy(queue) }
        deletions.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_DeleteTopics(client.handle, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, milliseconds + 1000) else {
            throw KafkaError(code: .timeout, message: "deleting topics took longer than \(timeout)", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.librdkafka(.admin, eventError, context: "delete topics")
        }
        guard let result = rd_kafka_event_DeleteTopics_result(event) else {
            throw KafkaError(code: .admin, message: "delete topics: unexpected event \(String(cString: rd_kafka_event_name(event)))")
        }
        var count = 0
        guard let results = rd_kafka_DeleteTopics_result_topics(result, &count) else { return [] }
        var deleted: [String] = []
        for index in 0..<count {
            let topicResult = results[index]
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let err = rd_kafka_topic_result_error(topicResult)
            switch err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                deleted.append(name)
            case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
                continue
            default:
                throw KafkaError.librdkafka(.admin, err, context: "delete topic \(name)")
            }
        }
        return deleted
    }
}
