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

    /// How many partitions each of `topics` has (topics that do not exist are left out).
    public func partitionCounts(_ topics: [String], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [String: Int] {
        let known = try await metadata(timeout: timeout).topics
        return known.filter { topics.contains($0.key) }
    }

    /// Creates the topics that do not exist yet; existing topics are left as they are.
    /// Returns the names of the topics it created.
    @discardableResult
    public func createTopics(_ topics: [KafkaTopicSpec], timeout: Duration) async throws(KafkaError) -> [String] {
        guard !topics.isEmpty else { return [] }
        let client = self.client
        return try await DedicatedThread.perform { () throws(KafkaError) -> [String] in
            try client.createTopics(topics, timeout: timeout)
        }
    }

    /// Deletes `topics`; topics that do not exist are ignored. Returns the names it deleted.
    @discardableResult
    public func deleteTopics(_ topics: [String], timeout: Duration) async throws(KafkaError) -> [String] {
        guard !topics.isEmpty else { return [] }
        let client = self.client
        return try await DedicatedThread.perform { () throws(KafkaError) -> [String] in
            try client.deleteTopics(topics, timeout: timeout)
        }
    }

    /// The next offset to be written (the high watermark) of each partition of `topics`.
    public func highWatermarks(_ topics: [String], timeout: Duration) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let client = self.client
        let servers = self.servers
        return try await DedicatedThread.perform { () throws(KafkaError) -> [KafkaTopicPartition: Int64] in
            let metadata = try client.fetchMetadata(timeoutMilliseconds: Int32(clamping: timeout.wholeMilliseconds))
            var result: [KafkaTopicPartition: Int64] = [:]
            for topic in topics {
                guard let count = metadata.topics[topic] else {
                    throw KafkaError(code: .admin, message: "topic \(topic) does not exist at \(servers)")
                }
                for partition in 0..<Int32(count) {
                    let marks = try client.watermarks(topic: topic, partition: partition, timeoutMilliseconds: Int32(clamping: timeout.wholeMilliseconds))
                    result[KafkaTopicPartition(topic: topic, partition: partition)] = marks.high
                }
            }
            return result
        }
    }

    /// The offsets `group` committed, per partition; partitions it never committed are
    /// left out. With `highWatermarks`, how far behind a consumer group is.
    public func committedOffsets(group: String, timeout: Duration) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let client = self.client
        return try await DedicatedThread.perform { () throws(KafkaError) -> [KafkaTopicPartition: Int64] in
            try client.committedOffsets(group: group, timeout: timeout)
        }
    }
}
