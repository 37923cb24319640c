import Foundation
import Kafka
import ServiceLifecycle
import Synchronization
import Testing

@Suite("Kafka over a real broker")
struct KafkaRoundTripTests {
    @Test("a record keeps its key, value and headers, and send reports where it was stored")
    func roundTrip() async throws {
        let topic = TestBroker.unique("roundtrip")
        try await TestBroker.createTopic(topic, partitions: 3)
        let producer = try KafkaProducer(configuration: .init(client: try TestBroker.client()), logger: TestBroker.logger)
        let consumer = try KafkaConsumer(
            configuration: .init(client: try TestBroker.client(), groupID: TestBroker.unique("g"),
                                 consumption: .assign((0..<3).map { KafkaTopicPartition(topic: topic, partition: Int32($0), start: .beginning) })),
            logger: TestBroker.logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            group.addTask { try await consumer.run() }

            let headers = [KafkaHeader(key: "message-type", string: "test.v1"), KafkaHeader(key: "empty", value: nil), KafkaHeader(key: "binary", value: Data([0, 1, 2, 255]))]
            let report = try await producer.send(KafkaProducerMessage(topic: topic, key: "order-1", value: Data("hello".utf8), headers: headers))
            #expect(report.topic == topic)
            #expect(report.offset >= 0)

            let message = try await firstMessage(of: consumer, within: .seconds(30))
            #expect(message.topic == topic)
            #expect(message.partition == report.partition)
            #expect(message.offset == report.offset)
            #expect(message.keyString == "order-1")
            #expect(String(decoding: message.value, as: UTF8.self) == "hello")
            #expect(message.headers == headers)
            #expect(message.timestamp != nil)
            group.cancelAll()
        }
    }

    @Test("a quiet consumer stops fetching, and a producer of the same process wakes it at once, each time")
    func idleBackoff() async throws {
        // Its own peek is a minute away: only the doorbell can wake it within the deadlines.
        let link = try await OnePartitionLink(prefix: "doze", idleBackoff: KafkaIdleBackoff(quietAfter: .milliseconds(300), peekEvery: .seconds(60)))
        try await link.running { received in
            for round in 1...3 {
                try await eventually("the consumer dozes (round \(round))", timeout: .seconds(15)) { link.consumer.isDozing }
                try await link.send("wake \(round)")
                try await eventually("record \(round) arrives", timeout: .seconds(10)) { received.count == round }
            }
            #expect(received.all == ["wake 1", "wake 2", "wake 3"])
        }
    }

    /// librdkafka resumes a partition without waking the broker thread that fetches it;
    /// with nothing else to fetch that thread sleeps up to a second. Before the consumer
    /// nudged it on every resume, the orchestrator (one busy partition, paused by its lane
    /// above 64 orders in flight) waited about a second per reply: 28.6 orders/s at 128
    /// in flight instead of 283.
    @Test("a record produced while its partition is paused arrives soon after the resume, not after librdkafka's one-second idle wake", arguments: [false, true])
    func resumeFetchesAtOnce(idleBackoff: Bool) async throws {
        let link = try await OnePartitionLink(
            prefix: "resume", idleBackoff: idleBackoff ? KafkaIdleBackoff(quietAfter: .seconds(60), peekEvery: .seconds(60)) : nil
        )
        try await link.running { received in
            try await link.send("first")
            try await eventually("the first record arrives", timeout: .seconds(30)) { received.count == 1 }

            var waits: [Duration] = []
            for round in 1...5 {
                link.consumer.pause([link.partition])
                try await link.send("round \(round)")
                // Part of the scenario, not a wait for a result: the broker thread, with
                // its only partition paused, settles into its idle wait.
                try await Task.sleep(for: .milliseconds(300))
                #expect(received.count == round, "nothing arrives while paused (round \(round))")
                let resumed = ContinuousClock.now
                link.consumer.resume([link.partition])
                try await eventually("record \(round) arrives after the resume", timeout: .seconds(10)) { received.count == round + 1 }
                waits.append(ContinuousClock.now - resumed)
            }
            #expect(received.all == ["first"] + (1...5).map { "round \($0)" })
            // Without the nudge every wait is close to a second; with it, a fetch's round trip.
            let median = waits.sorted()[waits.count / 2]
            #expect(median < .milliseconds(500), "resume to record: \(waits)")
        }
    }
}

/// A producer and a consumer of one new single-partition topic, the consumer assigned to
/// it from the beginning.
private struct OnePartitionLink: Sendable {
    let partition: KafkaTopicPartition
    let producer: KafkaProducer
    let consumer: KafkaConsumer

    init(prefix: String, idleBackoff: KafkaIdleBackoff?) async throws {
        let topic = TestBroker.unique(prefix)
        try await TestBroker.createTopic(topic)
        partition = KafkaTopicPartition(topic: topic, partition: 0)
        producer = try KafkaProducer(configuration: .init(client: try TestBroker.client()), logger: TestBroker.logger)
        consumer = try KafkaConsumer(
            configuration: .init(client: try TestBroker.client(), groupID: TestBroker.unique("g"),
                                 consumption: .assign([KafkaTopicPartition(topic: topic, partition: 0, start: .beginning)]),
                                 idleBackoff: idleBackoff),
            logger: TestBroker.logger
        )
    }

    func send(_ text: String) async throws {
        _ = try await producer.send(KafkaProducerMessage(topic: partition.topic, key: "k", value: Data(text.utf8)))
    }

    /// Runs both clients and collects the values the consumer hands over while `body` runs.
    func running(_ body: @Sendable (ReceivedValues) async throws -> Void) async throws {
        let received = ReceivedValues()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            group.addTask { try await consumer.run() }
            group.addTask {
                for try await message in consumer.messages { received.append(String(decoding: message.value, as: UTF8.self)) }
            }
            try await body(received)
            group.cancelAll()
        }
    }
}

/// The values a consumer handed over, as text, in order.
private final class ReceivedValues: Sendable {
    private let values = Mutex<[String]>([])
    var all: [String] { values.withLock { $0 } }
    var count: Int { values.withLock { $0.count } }
    func append(_ value: String) { values.withLock { $0.append(value) } }
}

/// The consumer's first message, or a `TimedOut` error after `timeout`: never waits for ever.
func firstMessage(of consumer: KafkaConsumer, within timeout: Duration) async throws -> KafkaConsumerMessage {
    try await withThrowingTaskGroup(of: KafkaConsumerMessage?.self) { group in
        group.addTask {
            var iterator = consumer.messages.makeAsyncIterator()
            return try await iterator.next()
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let message = first else {
            throw TimedOut(what: "a message from the consumer", timeout: timeout)
        }
        return message
    }
}
