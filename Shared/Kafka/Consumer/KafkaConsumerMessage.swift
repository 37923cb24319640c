import struct Foundation.Data
import struct Foundation.Date

/// A record read by a `KafkaConsumer`. It owns copies of its bytes.
public struct KafkaConsumerMessage: Sendable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
    public let key: Data?
    public let value: Data
    public let headers: [KafkaHeader]
    /// The record's timestamp (create or log-append time), if the broker sent one.
    public let timestamp: Date?

    public init(topic: String, partition: Int32, offset: Int64, key: Data?, value: Data, headers: [KafkaHeader], timestamp: Date?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// The key decoded as UTF-8, if present and valid.
    public var keyString: String? {
        key.flatMap { String(data: $0, encoding: .utf8) }
    }
}
