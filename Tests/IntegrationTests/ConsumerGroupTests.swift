import Foundation
import Kafka
import Synchronization
import Testing

/// Runs a consumer and records what it handled, committing each message after recording it.
final class RecordingConsumer: Sendable {
    let consumer: KafkaConsumer
    let name: String
    private let seen = Mutex<[KafkaConsumerMessage]>([])

    init(_ name: String, configuration: KafkaConsumerConfiguration) throws {
        self.name = name
        consumer = try KafkaConsumer(configuration: configuration, logger: TestBroker.logger)
    }

    var messages: [KafkaConsumerMessage] { seen.withLock { $0 } }

    /// The header of the markers tests write to know a recorder has caught up.
    static let markerHeader = "x-test-marker"

    /// What was read, markers left out.
    var unmarked: [KafkaConsumerMessage] { messages.filter { $0.headers.string(for: Self.markerHeader) == nil } }
    var values: Set<String> { Set(messages.map { String(decoding: $0.value, as: UTF8.self) }) }

    /// Consumes until the consumer stops; meant for a child task.
    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.consumer.run() }
            for try await message in consumer.messages {
                seen.withLock { $0.append(message) }
                consumer.commit(message)
            }
            try await group.waitForAll()
        }
    }
}

/// Polls `condition` until it holds; throws after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: what, timeout: timeout) }
        try await Task.sleep(for: .milliseconds(20))
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    let timeout: Duration
    var description: String { "timed out after \(timeout) waiting for \(what)" }
}

@Suite("Kafka consumer groups over a real broker", .serialized)
struct ConsumerGroupTests {
    private func produce(_ producer: KafkaProducer, topic: String, values: Range<Int>) async throws {
        for value in values {
            try await producer.enqueue(KafkaProducerMessage(topic: topic, key: "key-\(value)", value: Data("\(value)".utf8)))
        }
        try await producer.flush()
    }

    @Test("two members share the partitions; when one leaves the other takes over and nothing is lost")
    func shareAndTakeOver() async throws {
        let topic = TestBroker.unique("group")
        let group = TestBroker.unique("g")
        try await TestBroker.createTopic(topic, partitions: 4)
        let configuration = KafkaConsumerConfiguration(client: try TestBroker.client(), groupID: group, consumption: .subscribe([topic]))
        let first = try RecordingConsumer("first", configuration: configuration)
        let second = try RecordingConsumer("second", configuration: configuration)
        let producer = try KafkaProducer(configuration: .init(client: try TestBroker.client()), logger: TestBroker.logger)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await producer.run() }
            tasks.addTask { try await first.run() }
            tasks.addTask { try await second.run() }

            let all = Set((0..<4).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) })
            try await eventually("both members to own partitions") {
                let a = first.consumer.assignment, b = second.consumer.assignment
                return !a.isEmpty && !b.isEmpty && a.isDisjoint(with: b) && a.union(b) == all
            }
            try await produce(producer, topic: topic, values: 0..<200)
            try await eventually("the first 200 messages to be handled") { first.values.union(second.values).count == 200 }
            #expect(!first.messages.isEmpty && !second.messages.isEmpty, "both members handled messages")

            // The first member leaves cleanly; the second is rebalanced onto every partition.
            first.consumer.shutdownGracefully()
            try await eventually("the second member to own all partitions") { second.consumer.assignment == all }
            try await produce(producer, topic: topic, values: 200..<400)
            try await eventually("every message to be handled") { first.values.union(second.values).count == 400 }

            let handled = first.values.union(second.values)
            #expect(handled == Set((0..<400).map(String.init)), "no message lost")
            #expect(first.messages.allSatisfy { Int(String(decoding: $0.value, as: UTF8.self))! < 200 }, "the member that left handled nothing after leaving")
            second.consumer.shutdownGracefully()
            tasks.cancelAll()
        }
    }

    @Test("a restarted consumer resumes from its committed offsets")
    func resumeFromCommitted() async throws {
        let topic = TestBroker.unique("resume")
        let group = TestBroker.unique("g")
        try await TestBroker.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(configuration: .init(client: try TestBroker.client()), logger: TestBroker.logger)
        let configuration = KafkaConsumerConfiguration(client: try TestBroker.client(), groupID: group, consumption: .subscribe([topic]))

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await producer.run() }
            try await produce(producer, topic: topic, values: 0..<10)

            var configuration = configuration
            configuration.client.clientID = "before"
            let before = try RecordingConsumer("before", configuration: configuration)
            try await withThrowingTaskGroup(of: Void.self) { first in
                first.addTask { try await before.run() }
                try await eventually("the first ten messages") { before.messages.count == 10 }
                before.consumer.shutdownGracefully()
                try await first.waitForAll() // committed and left the group
            }

            try await produce(producer, topic: topic, values: 10..<15)
            configuration.client.clientID = "after"
            let after = try RecordingConsumer("after", configuration: configuration)
            tasks.addTask { try await after.run() }
            // One partition, read in order: once offset 14 is in, anything read again from
            // before 10 would have come first.
            try await eventually("the five new messages") { after.messages.contains { $0.offset == 14 } }

            #expect(after.messages.map(\.offset) == Array(10..<15), "only what was not committed is read again")
            #expect(after.values == Set((10..<15).map(String.init)))
            after.consumer.shutdownGracefully()
            tasks.cancelAll()
        }
    }
}
