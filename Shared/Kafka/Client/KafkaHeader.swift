import struct Foundation.Data

/// One Kafka record header. Kafka allows repeated keys and null values.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: Data?

    public init(key: String, value: Data?) {
        self.key = key
        self.value = value
    }

    public init(key: String, string: String) {
        self.init(key: key, value: Data(string.utf8))
    }

    /// The value decoded as UTF-8, if present and valid.
    public var stringValue: String? {
        value.flatMap { String(data: $0, encoding: .utf8) }
    }
}

extension Array where Element == KafkaHeader {
    /// The value of the last header named `key`, as a string.
    public func string(for key: String) -> String? {
        last { $0.key == key }?.stringValue
    }
}
