/// A topic, a partition of it, and optionally where to start reading it.
public struct KafkaTopicPartition: Sendable, Hashable, CustomStringConvertible {
    /// Where a consumer starts in a partition it was assigned directly.
    public enum StartOffset: Sendable, Hashable {
        case beginning
        case end
        /// The group's committed offset, or `auto.offset.reset` without one.
        case committed
        case offset(Int64)
    }

    public var topic: String
    public var partition: Int32
    public var start: StartOffset

    public init(topic: String, partition: Int32, start: StartOffset = .committed) {
        self.topic = topic
        self.partition = partition
        self.start = start
    }

    public var description: String { "\(topic)[\(partition)]" }
}
