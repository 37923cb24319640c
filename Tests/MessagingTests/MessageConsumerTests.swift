import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import MessagingTesting
import Synchronization
import Testing

@Suite("Message consumer: routing and dead letters")
struct MessageConsumerTests {
    let bus = InMemoryMessageBus()
    let topic = "profile.commands"
    let handled = Locked<[String]>([])

    private func consumer(retry: RetryPolicy = RetryPolicy(attempts: 3, initialBackoff: .milliseconds(1)), handler: (@Sendable (VerifyCustomer) throws -> Void)? = nil) -> MessageConsumer {
        var router = MessageRouter()
        router.on(VerifyCustomer.self) { [handled] command, _ in
            try handler?(command)
            handled.withLock { $0.append(command.customerID) }
        }
        return MessageConsumer(name: "test", bus: bus, subscription: Subscription(groupID: "g", topics: [topic]), router: router, retry: retry, logger: Logger(label: "test"))
    }

    private func run(_ consumer: MessageConsumer, until condition: @escaping @Sendable () -> Bool) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            try await waitUntil(condition)
            group.cancelAll()
        }
    }

    private func publish(customer: String) async throws {
        try await bus.publish(try Envelope(VerifyCustomer(customerID: customer), correlationID: "order-\(customer)"), to: topic)
    }

    @Test("poison messages go to <topic>.dlq with the reason and origin; the ones after them are handled")
    func poisonMessages() async throws {
        try await publish(customer: "alice")
        // A body that does not decode as VerifyCustomer.
        try await bus.publish(Envelope(messageType: VerifyCustomer.messageType, correlationID: "o", body: Data(#"{"customer":"x"}"#.utf8)), to: topic)
        // A type nobody handles.
        try await bus.publish(Envelope(messageType: "profile.unheard-of.v9", correlationID: "o", body: Data("{}".utf8)), to: topic)
        // No envelope at all.
        try await bus.publish(KafkaProducerMessage(topic: topic, key: "k", value: Data("garbage".utf8)))
        try await publish(customer: "bob")

        try await run(consumer()) { handled.withLock { $0.count } == 2 && bus.records(in: "profile.commands.dlq").count == 3 }

        #expect(handled.withLock { $0 } == ["alice", "bob"])
        let letters = bus.records(in: "profile.commands.dlq")
        #expect(letters.map { $0.headers.string(for: DeadLetterHeader.reason) } == ["malformed-body", "unknown-message-type", "missing-header"])
        #expect(letters.map { $0.headers.string(for: DeadLetterHeader.originalOffset) } == ["1", "2", "3"])
        #expect(letters.allSatisfy { $0.headers.string(for: DeadLetterHeader.originalTopic) == topic })
        #expect(letters.allSatisfy { $0.headers.string(for: DeadLetterHeader.consumerGroup) == "g" })
        #expect(letters[0].headers.string(for: DeadLetterHeader.detail)?.contains("customerId") == true)
        #expect(letters[2].value == Data("garbage".utf8), "the original bytes are kept")
        #expect(letters[0].headers.string(for: "message-type") == VerifyCustomer.messageType, "the original headers are kept")
        #expect(bus.committedOffset(group: "g", topic: topic) == 5)
    }

    @Test("a transient failure is retried and then succeeds")
    func retriesThenSucceeds() async throws {
        struct Transient: Error {}
        let failures = Locked(2)
        try await publish(customer: "carol")
        try await run(consumer { _ in
            try failures.withLock { remaining in
                if remaining > 0 { remaining -= 1; throw Transient() }
            }
        }) { handled.withLock { $0.count } == 1 }
        #expect(handled.withLock { $0 } == ["carol"])
        #expect(bus.records(in: "profile.commands.dlq").isEmpty)
    }

    @Test("a handler that keeps failing is dead-lettered after its attempts")
    func exhaustedRetries() async throws {
        struct Down: Error {}
        let attempts = Locked(0)
        try await publish(customer: "dave")
        try await publish(customer: "erin")
        try await run(consumer { command in
            if command.customerID == "dave" {
                attempts.withLock { $0 += 1 }
                throw Down()
            }
        }) { handled.withLock { $0.count } == 1 }
        #expect(attempts.withLock { $0 } == 3)
        let letters = bus.records(in: "profile.commands.dlq")
        #expect(letters.count == 1)
        #expect(letters.first?.headers.string(for: DeadLetterHeader.reason) == "handler-failed")
        #expect(handled.withLock { $0 } == ["erin"])
    }

    @Test("a rejection is dead-lettered at once, without retries")
    func rejection() async throws {
        let attempts = Locked(0)
        try await publish(customer: "mallory")
        try await run(consumer { _ in
            attempts.withLock { $0 += 1 }
            throw MessageRejection("customer is blocked")
        }) { bus.records(in: "profile.commands.dlq").count == 1 }
        #expect(attempts.withLock { $0 } == 1)
        let letter = try #require(bus.records(in: "profile.commands.dlq").first)
        #expect(letter.headers.string(for: DeadLetterHeader.reason) == "rejected")
        #expect(letter.headers.string(for: DeadLetterHeader.detail) == "customer is blocked")
    }

    @Test("when the dead letter cannot be published the record is not committed")
    func deadLetterPublishFails() async throws {
        try await bus.publish(KafkaProducerMessage(topic: topic, key: "k", value: Data("garbage".utf8)))
        bus.failNextPublishes(100)
        let consumer = consumer()
        await #expect(throws: MessagingError.self) {
            try await consumer.run()
        }
        #expect(bus.committedOffset(group: "g", topic: topic) == 0)
    }
}

/// A `Mutex` in a class, so test structs can share it with the closures they create.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result: Sendable>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try mutex.withLock { try body(&$0) }
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test("backoff grows by the multiplier up to the cap")
    func backoff() {
        let policy = RetryPolicy(attempts: 6, initialBackoff: .milliseconds(100), multiplier: 2, maxBackoff: .milliseconds(500))
        #expect((1...5).map { policy.backoff(after: $0) } == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500)])
    }

    @Test("it round-trips through JSON in milliseconds")
    func codable() throws {
        let policy = RetryPolicy(attempts: 4, initialBackoff: .milliseconds(250), multiplier: 1.5, maxBackoff: .seconds(3))
        let json = try MessageCoding.encode(policy)
        #expect(String(decoding: json, as: UTF8.self) == #"{"attempts":4,"initialBackoffMilliseconds":250,"maxBackoffMilliseconds":3000,"multiplier":1.5}"#)
        #expect(try MessageCoding.decode(RetryPolicy.self, from: json) == policy)
    }
}

@Suite("Topic catalog")
struct TopicCatalogTests {
    @Test("every service and event source has its topics, each with a dead-letter topic")
    func catalog() {
        let topics = Set(TopicCatalog.allTopics)
        for topic in ["payment.commands", "inventory.commands", "shipping.commands", "profile.commands", "orchestrator.replies",
                      "orders.events", "payment.events", "inventory.events", "shipping.events", "profile.events"] {
            #expect(topics.contains(topic))
            #expect(topics.contains(topic + ".dlq"))
        }
        #expect(topics.count == 20)
        #expect(TopicCatalog.specs.allSatisfy { $0.partitions == 8 })
    }
}
