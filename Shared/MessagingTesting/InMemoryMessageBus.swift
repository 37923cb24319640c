import Foundation
import Kafka
import Messaging
import ServiceLifecycle
import Synchronization

/// A `MessageBus` inside one process, for unit tests.
///
/// Every topic is a single partition (0) holding all its records; each group keeps a
/// committed offset per topic, so a consumer that stops and starts again resumes after
/// its last handled record, as with Kafka. Only one consumer per group is supported.
public final class InMemoryMessageBus: MessageBus {
    private struct State {
        var topics: [String: [KafkaConsumerMessage]] = [:]
        var committed: [String: [String: Int64]] = [:]
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
        /// Counts publishes, so a consumer can tell whether one happened since it looked.
        var published: UInt64 = 0
        var failingPublishes = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func publish(_ record: KafkaProducerMessage) async throws {
        let waiters: [CheckedContinuation<Void, Never>] = try state.withLock { state in
            if state.failingPublishes > 0 {
                state.failingPublishes -= 1
                throw MessagingError(code: .publishFailed, message: "in-memory bus: injected publish failure")
            }
            var log = state.topics[record.topic, default: []]
            log.append(KafkaConsumerMessage(
                topic: record.topic, partition: 0, offset: Int64(log.count),
                key: record.key, value: record.value, headers: record.headers, timestamp: Date()
            ))
            state.topics[record.topic] = log
            state.published &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume() }
    }

    public func consume(
        _ subscription: Subscription,
        maxBatch: Int,
        onReady: @escaping @Sendable () -> Void,
        handler: @escaping @Sendable ([KafkaConsumerMessage]) async throws -> Void
    ) async throws {
        onReady()
        let topics = subscription.topics
        let group = subscription.groupID
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let (batch, seen) = self.nextRecords(group: group, topics: topics, limit: max(1, maxBatch))
                if batch.isEmpty {
                    await self.waitForPublish(after: seen)
                    continue
                }
                try await handler(batch)
                self.state.withLock { state in
                    for record in batch { state.committed[group, default: [:]][record.topic] = record.offset + 1 }
                }
            }
        }
    }

    // MARK: - Inspection and fault injection for tests

    /// Every record published to `topic`, in order.
    public func records(in topic: String) -> [KafkaConsumerMessage] {
        state.withLock { $0.topics[topic] ?? [] }
    }

    /// The envelopes published to `topic` (records without a readable envelope are skipped).
    public func envelopes(in topic: String) -> [Envelope] {
        records(in: topic).compactMap { try? Envelope(record: $0) }
    }

    /// The next offset `group` will read in `topic`.
    public func committedOffset(group: String, topic: String) -> Int64 {
        state.withLock { $0.committed[group]?[topic] ?? 0 }
    }

    /// Makes the next `count` publishes throw.
    public func failNextPublishes(_ count: Int) {
        state.withLock { $0.failingPublishes = count }
    }

    /// Waits until `topic` holds at least `count` records, or `timeout` passes; returns the records.
    public func waitForRecords(in topic: String, count: Int, timeout: Duration = .seconds(20)) async -> [KafkaConsumerMessage] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let records = records(in: topic)
            if records.count >= count { return records }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return records(in: topic)
    }

    // MARK: - Private

    /// Up to `limit` uncommitted records, oldest first across the subscribed topics, like a
    /// single-partition consumer would see them, and the publish count they were read at.
    private func nextRecords(group: String, topics: [String], limit: Int) -> ([KafkaConsumerMessage], seen: UInt64) {
        state.withLock { state in
            var next = Dictionary(topics.map { ($0, Int(state.committed[group]?[$0] ?? 0)) }, uniquingKeysWith: { first, _ in first })
            var batch: [KafkaConsumerMessage] = []
            while batch.count < limit {
                var best: KafkaConsumerMessage?
                for topic in topics {
                    guard let log = state.topics[topic], let offset = next[topic], offset < log.count else { continue }
                    let candidate = log[offset]
                    if best == nil || candidate.timestamp! < best!.timestamp! { best = candidate }
                }
                guard let best else { break }
                batch.append(best)
                next[best.topic]! += 1
            }
            return (batch, state.published)
        }
    }

    /// Waits for a publish after the `seen`-th one (at once when it already happened).
    private func waitForPublish(after seen: UInt64) async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    // A publish or cancellation may have happened since `nextRecords` looked:
                    // a publish in that gap finds no waiter to resume, so it is checked here.
                    if Task.isCancelled || state.published != seen { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
