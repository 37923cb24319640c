import Kafka

/// What a consumer reads, and under which group its offsets are committed.
public struct Subscription: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        /// Join the group; the group shares the topics' partitions among its members.
        case topics([String])
        /// Read these partitions directly, without a group join (tests, tools).
        case partitions([KafkaTopicPartition])
    }

    public var groupID: String
    public var source: Source

    public init(groupID: String, topics: [String]) {
        self.groupID = groupID
        self.source = .topics(topics)
    }

    public init(groupID: String, partitions: [KafkaTopicPartition]) {
        self.groupID = groupID
        self.source = .partitions(partitions)
    }

    public var topics: [String] {
        switch source {
        case .topics(let topics): topics
        case .partitions(let partitions): Array(Set(partitions.map(\.topic))).sorted()
        }
    }
}

/// The transport between services: Kafka in every running process, an in-memory bus in unit tests.
public protocol MessageBus: Sendable {
    /// Publishes `record` and returns once the bus has durably accepted it.
    func publish(_ record: KafkaProducerMessage) async throws

    /// Publishes `records` in order and returns once the bus has durably accepted all of them.
    func publish(contentsOf records: [KafkaProducerMessage]) async throws

    /// Reads `subscription` and calls `handler` with the records of one partition, in
    /// order, as many at a time as have arrived (up to `maxBatch`); different partitions
    /// may be handled at the same time. A batch counts as handled (its offsets are
    /// committed) once `handler` returns. If `handler` throws `CancellationError`, that
    /// partition stops there, uncommitted (shutdown); any other error stops consumption and
    /// is rethrown, leaving the batch uncommitted. Runs until cancelled or, under a
    /// `ServiceGroup`, until graceful shutdown. `onReady` is called once the consumer owns
    /// partitions (it joined its group).
    func consume(
        _ subscription: Subscription,
        maxBatch: Int,
        onReady: @escaping @Sendable () -> Void,
        handler: @escaping @Sendable ([KafkaConsumerMessage]) async throws -> Void
    ) async throws
}

extension MessageBus {
    /// Reads `subscription` one record at a time: `handler` for each, its offset committed after it.
    public func consume(
        _ subscription: Subscription,
        onReady: @escaping @Sendable () -> Void = {},
        handler: @escaping @Sendable (KafkaConsumerMessage) async throws -> Void
    ) async throws {
        try await consume(subscription, maxBatch: 1, onReady: onReady) { records in
            for record in records { try await handler(record) }
        }
    }

    public func publish(contentsOf records: [KafkaProducerMessage]) async throws {
        for record in records {
            try await publish(record)
        }
    }

    /// Publishes `envelope` to `topic`, keyed by the envelope's key.
    public func publish(_ envelope: Envelope, to topic: String) async throws {
        try await publish(envelope.record(topic: topic))
    }
}
