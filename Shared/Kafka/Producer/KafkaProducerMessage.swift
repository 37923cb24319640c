import struct Foundation.Data

/// A record to produce.
public struct KafkaProducerMessage: Sendable {
    public var topic: String
    /// `nil` lets librdkafka's partitioner choose from the key.
    public var partition: Int32?
    public var key: Data?
    public var value: Data
    public var headers: [KafkaHeader]

    public init(topic: String, partition: Int32? = nil, key: Data? = nil, value: Data, headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    public init(topic: String, partition: Int32? = nil, key: String?, value: Data, headers: [KafkaHeader] = []) {
        self.init(topic: topic, partition: partition, key: key.map { Data($0.utf8) }, value: value, headers: headers)
    }
}

/// Where a produced record was stored.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public let topic: String
    public let partition: Int32
    public let offset: Int64
}
