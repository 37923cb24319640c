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
        onReady: @escaping @Sendable () -> Void,
        handler: @escaping @Sendable (KafkaConsumerMessage) async throws -> Void
    ) async throws {
        var configuration = consumerDefaults
        configuration.groupID = subscription.groupID
        configuration.consumption = switch subscription.source {
        case .topics(let topics): .subscribe(topics)
        case .partitions(let partitions): .assign(partitions)
        }
        var logger = logger
        logger[metadataKey: "kafka.group"] = "\(subscription.groupID)"
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            group.addTask {
                // librdkafka reports assignments on the poll thread; look until there is one.
                while consumer.assignment.isEmpty {
                    try await Task.sleep(for: .milliseconds(20))
                }
                onReady()
            }
            do {
                for try await message in consumer.messages {
                    try await handler(message)
                    consumer.commit(message)
                }
            } catch {
                group.cancelAll()
                throw error
            }
            try await group.waitForAll()
        }
    }
}
