import Contracts
import Foundation
import Kafka
import Messaging
import MessagingTesting
import Synchronization
import Testing

@Suite("In-memory bus")
struct InMemoryMessageBusTests {
    @Test("a group reads in order, commits, and resumes after its last handled record")
    func consumeAndResume() async throws {
        let bus = InMemoryMessageBus()
        for index in 0..<5 {
            try await bus.publish(KafkaProducerMessage(topic: "t", key: "k", value: Data("\(index)".utf8)))
        }
        struct Stop: Error {}
        let seen = Locked<[String]>([])
        // The first run stops (throws) at the fourth record, which stays uncommitted.
        await #expect(throws: Stop.self) {
            try await bus.consume(Subscription(groupID: "g", topics: ["t"])) { record in
                let value = String(decoding: record.value, as: UTF8.self)
                if value == "3" { throw Stop() }
                seen.withLock { $0.append(value) }
            }
        }
        #expect(seen.withLock { $0 } == ["0", "1", "2"])
        #expect(bus.committedOffset(group: "g", topic: "t") == 3)

        try await consume(bus, group: "g", until: { seen.withLock { $0.count } == 5 }) { record in
            seen.withLock { $0.append(String(decoding: record.value, as: UTF8.self)) }
        }
        #expect(seen.withLock { $0 } == ["0", "1", "2", "3", "4"])

        // Another group starts from the beginning.
        let other = Locked(0)
        try await consume(bus, group: "other", until: { other.withLock { $0 } == 5 }) { _ in other.withLock { $0 += 1 } }
        #expect(bus.committedOffset(group: "other", topic: "t") == 5)
    }

    @Test("a record published while the consumer waits is delivered")
    func wakesOnPublish() async throws {
        let bus = InMemoryMessageBus()
        let seen = Locked(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await bus.consume(Subscription(groupID: "g", topics: ["t"])) { _ in seen.withLock { $0 += 1 } }
            }
            try await Task.sleep(for: .milliseconds(20))
            try await bus.publish(KafkaProducerMessage(topic: "t", key: "k", value: Data()))
            try await waitUntil { seen.withLock { $0 } == 1 }
            group.cancelAll()
        }
        #expect(seen.withLock { $0 } == 1)
    }

    /// A publish that lands after the consumer found nothing and before it waits must
    /// still wake it (once it did not, and a participant test waited 20 s for a reply).
    /// Each record is published the moment the previous one was handled, racing the
    /// consumer's next look, many times over.
    @Test("a record published while the consumer turns from looking to waiting is delivered")
    func publishRacingTheWait() async throws {
        let bus = InMemoryMessageBus()
        let handled = Locked(0)
        let rounds = 2_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await bus.consume(Subscription(groupID: "g", topics: ["t"])) { _ in handled.withLock { $0 += 1 } }
            }
            for round in 1...rounds {
                try await bus.publish(KafkaProducerMessage(topic: "t", key: "k", value: Data()))
                let deadline = ContinuousClock.now + .seconds(5)
                while handled.withLock({ $0 }) < round {
                    guard ContinuousClock.now < deadline else {
                        Issue.record("record \(round) of \(rounds) was not delivered within 5 s")
                        group.cancelAll()
                        return
                    }
                    await Task.yield()
                }
            }
            group.cancelAll()
        }
        #expect(handled.withLock { $0 } == rounds)
    }

    @Test("a handler error stops consumption and leaves the record uncommitted")
    func handlerErrorStops() async throws {
        struct Boom: Error {}
        let bus = InMemoryMessageBus()
        try await bus.publish(KafkaProducerMessage(topic: "t", key: "k", value: Data()))
        await #expect(throws: Boom.self) {
            try await bus.consume(Subscription(groupID: "g", topics: ["t"])) { _ in throw Boom() }
        }
        #expect(bus.committedOffset(group: "g", topic: "t") == 0)
    }

    /// Runs a consumer until `condition` holds, then cancels it.
    private func consume(_ bus: InMemoryMessageBus, group: String, until condition: @escaping @Sendable () -> Bool, handler: @escaping @Sendable (KafkaConsumerMessage) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await bus.consume(Subscription(groupID: group, topics: ["t"]), handler: handler) }
            try await waitUntil(condition)
            tasks.cancelAll()
        }
    }
}
