import Kafka
import Logging

/// `MessageBus` over Kafka: one shared producer, one consumer per `consume` call.
///
/// The producer must be running (it is a `Service`; list it before the consumers in the
/// `ServiceGroup` so that it stops after them).
public struct KafkaMessageBus: MessageBus {
    public let producer: KafkaProducer
    public let consumerDefaults: KafkaConsumerConfiguration
    private let logger: Logger

    /// `consumerDefaults` supplies client, timeouts and buffering; group and topics come from each subscription.
    public init(producer: KafkaProducer, consumerDefaults: KafkaConsumerConfiguration, logger: Logger) {
        self.producer = producer
        self.consumerDefaults = consumerDefaults
        self.logger = logger
    }

    public func publish(_ record: KafkaProducerMessage) async throws {
        _ = try await producer.send(record)
    }

    public func publish(contentsOf records: [KafkaProducerMessage]) async throws {
        _ = try await producer.send(contentsOf: records)
    }

    public func consume(
        _ subscription: Subscription,
        maxBatch: Int,
        onReady: @escaping @Sendable () -> Void,
        handler: @escaping @Sendable ([KafkaConsumerMessage]) async throws -> Void
    ) async throws {
        var configuration = consumerDefaults
        configuration.groupID = subscription.groupID
        configuration.consumption = switch subscription.source {
        case .topics(let topics): .subscribe(topics)
        case .partitions(let partitions): .assign(partitions)
        }
        var logger = logger
        logger[metadataKey: LogKey.kafkaGroup] = "\(subscription.groupID)"
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)

        // A lane is paused once two batches are waiting behind the one in progress.
        let lanes = PartitionLanes(pauseAbove: max(16, 2 * maxBatch), resumeAt: max(4, maxBatch / 2))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            group.addTask {
                // librdkafka reports assignments on the poll thread; look until there is one.
                while consumer.assignment.isEmpty {
                    try await Task.sleep(for: .milliseconds(20))
                }
                onReady()
            }
            // One lane per partition: in order within a partition, partitions side by side.
            var queues: [PartitionLanes.Key: LaneQueue] = [:]
            do {
                for try await message in consumer.messages {
                    let key = PartitionLanes.Key(message)
                    let queue: LaneQueue
                    if let existing = queues[key] {
                        queue = existing
                    } else {
                        queue = LaneQueue()
                        queues[key] = queue
                        group.addTask {
                            try await Self.runLane(queue, key: key, maxBatch: maxBatch, lanes: lanes, consumer: consumer, handler: handler)
                        }
                    }
                    consumer.startedHandling()
                    lanes.enqueued(key) { partition in consumer.pause([partition]) }
                    queue.append(message)
                }
            } catch {
                queues.values.forEach { $0.finish() }
                group.cancelAll()
                throw error
            }
            queues.values.forEach { $0.finish() }
            try await group.waitForAll()
        }
    }

    /// Handles one partition's records in order, in batches of what has arrived, and
    /// commits each batch's last offset after its handler. A handler that throws stops the
    /// lane and, through the task group, the consumer; a `CancellationError` (shutdown)
    /// leaves the rest uncommitted, to be read again.
    private static func runLane(
        _ queue: LaneQueue,
        key: PartitionLanes.Key,
        maxBatch: Int,
        lanes: PartitionLanes,
        consumer: KafkaConsumer,
        handler: @escaping @Sendable ([KafkaConsumerMessage]) async throws -> Void
    ) async throws {
        var stopping = false
        while let batch = await queue.next(limit: maxBatch) {
            defer {
                for _ in batch {
                    consumer.finishedHandling()
                    lanes.finished(key) { partition in consumer.resume([partition]) }
                }
            }
            guard !stopping else { continue }
            do {
                try await handler(batch)
                consumer.commit(batch[batch.count - 1])
            } catch is CancellationError {
                stopping = true
            }
        }
    }
}
