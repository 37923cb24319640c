import Foundation
import Kafka
import Messaging

/// A message waiting in the outbox: everything needed to produce it later, exactly as decided.
public struct OutboxMessage: Sendable, Hashable, Codable {
    public var topic: String
    public var key: String?
    /// Header names and values; envelope headers are text.
    public var headers: [[String]]
    /// The JSON body.
    public var body: String

    public init(_ envelope: Envelope, topic: String) {
        self.topic = topic
        self.key = envelope.key
        self.headers = envelope.headerPairs.map { [$0.name, $0.value] }
        self.body = String(decoding: envelope.body, as: UTF8.self)
    }

    public var record: KafkaProducerMessage {
        KafkaProducerMessage(
            topic: topic,
            key: key,
            value: Data(body.utf8),
            headers: headers.compactMap { pair in pair.count == 2 ? KafkaHeader(key: pair[0], string: pair[1]) : nil }
        )
    }
}
