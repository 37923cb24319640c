import Kafka
import Logging
import Messaging

/// The Kafka side of a running process: one producer (a `Service`, to list before its
/// users) and the bus over it. `connect` checks the broker and creates the topic catalog
/// first, so a missing broker is one clear error at start-up.
public struct KafkaRuntime: Sendable {
    public let producer: KafkaProducer
    public let bus: KafkaMessageBus

    /// `oneProcess`: every service of the stack runs in this process, so its consumers back
    /// off when idle unless `KAFKA_IDLE_BACKOFF` says otherwise (see `KafkaIdleBackoff`).
    public static func connect(
        _ configuration: ServiceConfiguration, topics: TopicNames = .standard, oneProcess: Bool = false, logger: Logger
    ) async throws -> KafkaRuntime {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(client: configuration.kafka), logger: logger)
        _ = try await producer.checkConnection(timeout: configuration.startupTimeout)
        let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
        try await admin.createTopics(topics.specs, timeout: configuration.startupTimeout)
        try await producer.prepare(topics: topics.allTopics, timeout: configuration.startupTimeout)
        let bus = KafkaMessageBus(
            producer: producer,
            consumerDefaults: KafkaConsumerConfiguration(
                client: configuration.kafka, groupID: "ensemble", consumption: .subscribe([]),
                idleBackoff: (configuration.kafkaIdleBackoff ?? oneProcess) ? .standard : nil
            ),
            logger: logger
        )
        return KafkaRuntime(producer: producer, bus: bus)
    }
}
