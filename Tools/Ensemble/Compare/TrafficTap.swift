import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import Synchronization

/// Reads every topic messages flow through (from the end, as the bench starts) and keeps,
/// per order, each record's size and causation, so the comparison can count messages,
/// bytes and sequential hops per order; outcome events go to the waiter.
final class TrafficTap: Sendable {
    struct Record: Sendable {
        var messageID: UUID
        var causationID: UUID?
        var type: String
        var bytes: Int
    }

    private let records = Mutex<[String: [Record]]>([:])
    let waiter: OutcomeWaiter
    private let consumer: KafkaConsumer

    /// `topics`: each topic and its partition count.
    init(kafka: KafkaClientConfiguration, topics: [String: Int], waiter: OutcomeWaiter, logger: Logger) throws {
        self.waiter = waiter
        consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: kafka, groupID: "bench-compare-\(UUID().uuidString.prefix(8))",
            consumption: .assign(topics.flatMap { topic, partitions in
                (0..<partitions).map { KafkaTopicPartition(topic: topic, partition: Int32($0), start: .end) }
            })
        ), logger: logger)
    }

    /// Runs the consumer and records what it reads until cancelled.
    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.consumer.run() }
            group.addTask {
                for try await message in self.consumer.messages {
                    guard let envelope = try? Envelope(record: message) else { continue }
                    let bytes = message.value.count + (message.key?.count ?? 0)
                        + message.headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
                    let record = Record(messageID: envelope.messageID, causationID: envelope.causationID, type: envelope.messageType, bytes: bytes)
                    self.records.withLock { $0[envelope.correlationID, default: []].append(record) }
                    switch envelope.messageType {
                    case OrderCompleted.messageType: self.waiter.finish(envelope.correlationID, as: "completed")
                    case OrderFailed.messageType:
                        self.waiter.finish(envelope.correlationID, as: (try? envelope.decode(OrderFailed.self).status) ?? "failed")
                    case OrderNeedsAttention.messageType: self.waiter.finish(envelope.correlationID, as: "needs-attention")
                    default: continue
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Messages and bytes of `orders`, and the sequential hops of each completed one: the
    /// length of the causation chain from `order-placed` to `order-completed`.
    func traffic(of orders: [String]) -> (messages: Int, bytes: Int, hops: [Int]) {
        records.withLock { records in
            var messages = 0
            var bytes = 0
            var hops: [Int] = []
            for order in orders {
                let mine = records[order] ?? []
                messages += mine.count
                bytes += mine.reduce(0) { $0 + $1.bytes }
                guard let outcome = mine.first(where: { $0.type == OrderCompleted.messageType }) else { continue }
                let byID = Dictionary(mine.map { ($0.messageID, $0) }, uniquingKeysWith: { first, _ in first })
                var current = outcome
                var length = 0
                while let cause = current.causationID, let previous = byID[cause], length < 100 {
                    length += 1
                    current = previous
                }
                if current.type == OrderPlaced.messageType { hops.append(length) }
            }
            return (messages, bytes, hops)
        }
    }
}
