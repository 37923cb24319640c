import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import Synchronization
import Testing

@Suite("Dead letters over a real broker")
struct DeadLetterTests {
    @Test("a poison message lands in <topic>.dlq with its origin, and the messages after it are handled")
    func poisonMessage() async throws {
        let topic = TestBroker.unique("commands")
        try await TestBroker.createTopic(topic, partitions: 1)
        try await TestBroker.createTopic(TopicCatalog.deadLetter(for: topic), partitions: 1)
        let client = try TestBroker.client()
        let producer = try KafkaProducer(configuration: .init(client: client), logger: TestBroker.logger)
        let bus = KafkaMessageBus(
            producer: producer,
            consumerDefaults: KafkaConsumerConfiguration(client: client, groupID: "unused", consumption: .subscribe([])),
            logger: TestBroker.logger
        )
        let handled = Mutex<[String]>([])
        var router = MessageRouter()
        router.on(VerifyCustomer.self) { command, _ in handled.withLock { $0.append(command.customerID) } }
        let consumer = MessageConsumer(
            name: "poison-test", bus: bus,
            subscription: Subscription(groupID: TestBroker.unique("g"), partitions: [KafkaTopicPartition(topic: topic, partition: 0, start: .beginning)]),
            router: router, logger: TestBroker.logger
        )
        let deadLetters = try RecordingConsumer("dlq", configuration: KafkaConsumerConfiguration(
            client: client, groupID: TestBroker.unique("dlq"),
            consumption: .assign([KafkaTopicPartition(topic: TopicCatalog.deadLetter(for: topic), partition: 0, start: .beginning)])
        ))

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await producer.run() }
            tasks.addTask { try await consumer.run() }
            tasks.addTask { try await deadLetters.run() }

            try await bus.publish(try Envelope(VerifyCustomer(customerID: "alice"), correlationID: "o-1"), to: topic)
            try await bus.publish(Envelope(messageType: VerifyCustomer.messageType, correlationID: "o-2", body: Data("{not json".utf8)), to: topic)
            try await bus.publish(KafkaProducerMessage(topic: topic, key: "o-3", value: Data("no envelope".utf8)))
            try await bus.publish(Envelope(messageType: "profile.from-the-future.v7", correlationID: "o-4", body: Data("{}".utf8)), to: topic)
            try await bus.publish(try Envelope(VerifyCustomer(customerID: "bob"), correlationID: "o-5"), to: topic)

            try await eventually("both good messages handled and three dead letters") {
                handled.withLock { $0.count } == 2 && deadLetters.messages.count == 3
            }
            #expect(handled.withLock { $0 } == ["alice", "bob"])
            let letters = deadLetters.messages
            #expect(letters.map { $0.headers.string(for: DeadLetterHeader.reason) } == ["malformed-body", "missing-header", "unknown-message-type"])
            #expect(letters.map { $0.headers.string(for: DeadLetterHeader.originalOffset) } == ["1", "2", "3"])
            #expect(letters.allSatisfy { $0.headers.string(for: DeadLetterHeader.originalTopic) == topic })
            #expect(letters.allSatisfy { $0.headers.string(for: DeadLetterHeader.originalPartition) == "0" })
            #expect(letters[1].value == Data("no envelope".utf8))
            #expect(letters[1].keyString == "o-3", "the dead letter keeps the original key")
            tasks.cancelAll()
        }
    }
}
