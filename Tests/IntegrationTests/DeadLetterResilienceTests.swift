import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import MessagingTesting
import ServiceKit
import Synchronization
import Testing

/// Dead-lettering must never stop a consumer: not for the record's own sake (too large),
/// and not when the dead-letter topic is away (the partition is held, nothing is lost).
@Suite("Dead letters that cannot fail over a real broker")
struct DeadLetterResilienceTests {
    /// A consumer of `topic` on `bus` that records the customers it verified.
    private func consumer(_ topic: String, partitions: Int32, bus: any MessageBus, handled: Locked<[String]>, health: HealthState) -> MessageConsumer {
        var router = MessageRouter()
        router.on(VerifyCustomer.self) { command, _ in handled.withLock { $0.append(command.customerID) } }
        return MessageConsumer(
            name: "resilience-test", bus: bus,
            subscription: Subscription(groupID: TestBroker.unique("g"), partitions: (0..<partitions).map { KafkaTopicPartition(topic: topic, partition: $0, start: .beginning) }),
            router: router,
            deadLetterRetry: RetryPolicy(attempts: .max, initialBackoff: .milliseconds(100), multiplier: 2, maxBackoff: .milliseconds(500)),
            logger: TestBroker.logger,
            onReady: { health.set("consumer", ready: true) },
            onHold: health.partitionHold
        )
    }

    private func bus(_ producer: KafkaProducer, client: KafkaClientConfiguration) -> KafkaMessageBus {
        KafkaMessageBus(producer: producer, consumerDefaults: KafkaConsumerConfiguration(client: client, groupID: "unused", consumption: .subscribe([])), logger: TestBroker.logger)
    }

    private func command(_ customer: String, topic: String, partition: Int32) throws -> KafkaProducerMessage {
        var record = try Envelope(VerifyCustomer(customerID: customer), correlationID: "o-\(customer)").record(topic: topic)
        record.partition = partition
        return record
    }

    @Test("records over the size limits are dead-lettered cut to size, with digest and size; the next record is handled; the consumer never stops")
    func oversizedRecords() async throws {
        let topic = TestBroker.unique("big")
        let dlq = TopicCatalog.deadLetter(for: topic)
        try await TestBroker.createTopic(topic)
        try await TestBroker.createTopic(dlq)
        let client = try TestBroker.client()
        // An outside writer that allows records far larger than librdkafka's default 1,000,000 bytes.
        var bigClient = client
        bigClient.properties["message.max.bytes"] = "8000000"
        let writer = try KafkaProducer(configuration: .init(client: bigClient), logger: TestBroker.logger)
        let producer = try KafkaProducer(configuration: .init(client: client), logger: TestBroker.logger)
        let handled = Locked<[String]>([])
        let health = HealthState()
        let consumer = consumer(topic, partitions: 1, bus: bus(producer, client: client), handled: handled, health: health)
        let letters = try RecordingConsumer("dlq", configuration: KafkaConsumerConfiguration(
            client: client, groupID: TestBroker.unique("dlq"), consumption: .assign([KafkaTopicPartition(topic: dlq, partition: 0, start: .beginning)])
        ))
        let stopped = Locked<String?>(nil)

        // 3 MiB: over the consumer's limit. 990 KB: under it, not an envelope, and with the
        // dead-letter headers added over the producer's default maximum before this fix.
        let huge = Data(repeating: 0x41, count: 3 * 1024 * 1024)
        let nearLimit = Data((0..<990_000).map { UInt8($0 % 256) })

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await writer.run() }
            tasks.addTask { try await producer.run() }
            tasks.addTask {
                do { try await consumer.run() } catch { stopped.withLock { $0 = "\(error)" }; throw error }
                stopped.withLock { $0 = "returned" }
            }
            tasks.addTask { try await letters.run() }

            _ = try await writer.send(KafkaProducerMessage(topic: topic, partition: 0, key: "huge", value: huge, headers: [KafkaHeader(key: EnvelopeHeader.messageType, string: VerifyCustomer.messageType)]))
            _ = try await writer.send(KafkaProducerMessage(topic: topic, partition: 0, key: "near", value: nearLimit))
            _ = try await writer.send(try command("after", topic: topic, partition: 0))

            try await eventually("two dead letters and the next record handled") {
                letters.messages.count == 2 && handled.withLock { $0 } == ["after"]
            }
            let (first, second) = (letters.messages[0], letters.messages[1])
            #expect(first.headers.string(for: DeadLetterHeader.reason) == "too-large")
            #expect(first.headers.string(for: DeadLetterHeader.truncated) == "body")
            #expect(first.headers.string(for: DeadLetterHeader.originalSize) == String(huge.count))
            #expect(first.headers.string(for: DeadLetterHeader.originalSHA256) == DeadLetter.sha256(huge))
            #expect(first.value == huge.prefix(DeadLetterLimits.standard.truncatedBodyBytes))
            #expect(first.headers.string(for: DeadLetterHeader.originalOffset) == "0")
            #expect(second.headers.string(for: DeadLetterHeader.reason) == "missing-header")
            #expect(second.headers.string(for: DeadLetterHeader.originalSize) == "990000")
            #expect(second.headers.string(for: DeadLetterHeader.originalSHA256) == DeadLetter.sha256(nearLimit))
            #expect(second.value.count == DeadLetterLimits.standard.truncatedBodyBytes)
            #expect(stopped.withLock { $0 } == nil, "the consumer is still running")
            #expect(health.isReady)
            tasks.cancelAll()
        }
    }

    @Test("with its dead-letter topic deleted, the consumer holds that partition, reports not-ready, serves the others, and dead-letters the record once the topic is back")
    func deadLetterTopicMissing() async throws {
        let topic = TestBroker.unique("held")
        let dlq = TopicCatalog.deadLetter(for: topic)
        try await TestBroker.createTopic(topic, partitions: 2)
        try await TestBroker.createTopic(dlq)
        let client = try TestBroker.client()
        let admin = try KafkaAdmin(configuration: client, logger: TestBroker.logger)
        #expect(try await admin.deleteTopics([dlq], timeout: .seconds(10)) == [dlq])
        // The dead letter's producer gives up on a missing topic after 2 s per attempt.
        let producer = try KafkaProducer(configuration: .init(client: client, deliveryTimeout: .seconds(2)), logger: TestBroker.logger)
        let handled = Locked<[String]>([])
        let health = HealthState()
        let bus = CountingBus(bus(producer, client: client))
        let consumer = consumer(topic, partitions: 2, bus: bus, handled: handled, health: health)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await producer.run() }
            tasks.addTask { try await consumer.run() }
            try await eventually("the consumer to own its partitions") { health.isReady }

            // Partition 0: a poison record, then a good one. Partition 1: a good one.
            _ = try await producer.send(KafkaProducerMessage(topic: topic, partition: 0, key: "poison", value: Data("not an envelope".utf8)))
            _ = try await producer.send(try command("behind-the-poison", topic: topic, partition: 0))
            _ = try await producer.send(try command("other-partition", topic: topic, partition: 1))

            try await eventually("the other partition served and partition 0 held") {
                handled.withLock { $0 } == ["other-partition"] && !health.isReady
            }
            let check = try #require(health.snapshot["partition \(topic)[0]"])
            #expect(!check.ready)
            #expect(check.detail.contains(dlq))
            // Held through several attempts: still nothing from partition 0.
            try await eventually("three attempts to write the dead letter") { bus.publishes(to: dlq) >= 3 }
            #expect(handled.withLock { $0 } == ["other-partition"])
            #expect(!health.isReady)

            try await admin.createTopics([KafkaTopicSpec(name: dlq, partitions: 1)], timeout: .seconds(10))
            try await eventually("partition 0 released and its good record handled", timeout: .seconds(30)) {
                handled.withLock { $0 }.contains("behind-the-poison") && health.isReady
            }
            #expect(handled.withLock { $0 } == ["other-partition", "behind-the-poison"])
            tasks.cancelAll()
        }

        let letters = try RecordingConsumer("dlq", configuration: KafkaConsumerConfiguration(
            client: client, groupID: TestBroker.unique("dlq"), consumption: .assign([KafkaTopicPartition(topic: dlq, partition: 0, start: .beginning)])
        ))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await letters.run() }
            try await eventually("the poison record in the dead-letter topic") { !letters.messages.isEmpty }
            #expect(letters.messages.count == 1, "written once")
            #expect(letters.messages.first?.value == Data("not an envelope".utf8))
            #expect(letters.messages.first?.headers.string(for: DeadLetterHeader.reason) == "missing-header")
            tasks.cancelAll()
        }
    }
}

/// A bus that counts what is published to each topic (attempts, successful or not).
struct CountingBus: MessageBus {
    let base: any MessageBus
    private let counts = Locked<[String: Int]>([:])

    init(_ base: any MessageBus) {
        self.base = base
    }

    func publishes(to topic: String) -> Int { counts.withLock { $0[topic] ?? 0 } }

    func publish(_ record: KafkaProducerMessage) async throws {
        counts.withLock { $0[record.topic, default: 0] += 1 }
        try await base.publish(record)
    }

    func publish(contentsOf records: [KafkaProducerMessage]) async throws {
        for record in records { counts.withLock { $0[record.topic, default: 0] += 1 } }
        try await base.publish(contentsOf: records)
    }

    func consume(
        _ subscription: Subscription, maxBatch: Int, onReady: @escaping @Sendable () -> Void,
        handler: @escaping @Sendable ([KafkaConsumerMessage]) async throws -> Void
    ) async throws {
        try await base.consume(subscription, maxBatch: maxBatch, onReady: onReady, handler: handler)
    }
}

