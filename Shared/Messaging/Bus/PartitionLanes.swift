import Kafka
import Synchronization

/// Per-partition backlog bookkeeping for a consumer that handles its partitions side by
/// side: one lane (a task) per partition, records in order within it.
///
/// A lane that falls `pauseAbove` records behind has its partition paused, so one slow or
/// stuck partition (a dead letter that cannot be written, say) neither holds the others
/// back nor piles up records in memory; it is resumed once its lane is down to `resumeAt`.
final class PartitionLanes: Sendable {
    struct Key: Hashable, Sendable {
        let topic: String
        let partition: Int32

        init(_ message: KafkaConsumerMessage) {
            topic = message.topic
            partition = message.partition
        }

        var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
    }

    private struct Lane {
        var queued = 0
        var paused = false
    }

    private let lanes = Mutex<[Key: Lane]>([:])
    let pauseAbove: Int
    let resumeAt: Int

    init(pauseAbove: Int = 16, resumeAt: Int = 4) {
        self.pauseAbove = max(1, pauseAbove)
        self.resumeAt = min(max(0, resumeAt), self.pauseAbove - 1)
    }

    /// Counts a record handed to `key`'s lane; calls `pause` when the lane is now too far
    /// behind. Returns whether it paused.
    ///
    /// `pause` and `resume` run under the lanes' lock, so that a resume decided by a lane
    /// that just drained cannot overtake the pause decided a moment before (which would
    /// leave the partition paused for ever).
    @discardableResult
    func enqueued(_ key: Key, pause: (KafkaTopicPartition) -> Void = { _ in }) -> Bool {
        lanes.withLock { all in
            var lane = all[key, default: Lane()]
            defer { all[key] = lane }
            lane.queued += 1
            guard !lane.paused, lane.queued > pauseAbove else { return false }
            lane.paused = true
            pause(key.topicPartition)
            return true
        }
    }

    /// Counts a record `key`'s lane is done with; calls `resume` when a paused lane has
    /// drained to the low mark. Returns whether it resumed.
    @discardableResult
    func finished(_ key: Key, resume: (KafkaTopicPartition) -> Void = { _ in }) -> Bool {
        lanes.withLock { all in
            var lane = all[key, default: Lane()]
            defer { all[key] = lane }
            lane.queued -= 1
            guard lane.paused, lane.queued <= resumeAt else { return false }
            lane.paused = false
            resume(key.topicPartition)
            return true
        }
    }

    /// Records waiting or in progress in `key`'s lane.
    func backlog(_ key: Key) -> Int {
        lanes.withLock { $0[key]?.queued ?? 0 }
    }
}
