import Crypto
import Foundation
import Kafka

/// How large a dead letter may get. A record is parked in `<topic>.dlq` with its reason;
/// a dead letter that the broker could refuse for its size would leave the consumer stuck
/// on the record, so everything a dead letter copies from the original is bounded here,
/// well under the producer's `message.max.bytes` (librdkafka's default is 1,000,000 bytes).
public struct DeadLetterLimits: Sendable, Hashable {
    /// Bodies up to this size are kept whole.
    public var maxBodyBytes: Int
    /// How much of a larger body is kept (the start of it); its size and SHA-256 go in headers.
    public var truncatedBodyBytes: Int
    /// Keys longer than this are cut to it.
    public var maxKeyBytes: Int
    /// How many of the original headers are kept at most.
    public var maxHeaders: Int
    /// A header value longer than this is dropped (its name is listed in `dlq-headers-dropped`).
    public var maxHeaderValueBytes: Int
    /// The original headers kept, names and values together, stay under this.
    public var maxHeaderBytes: Int
    /// The `dlq-detail` text is cut to this.
    public var maxDetailBytes: Int

    public init(
        maxBodyBytes: Int = 256 * 1024,
        truncatedBodyBytes: Int = 16 * 1024,
        maxKeyBytes: Int = 1024,
        maxHeaders: Int = 64,
        maxHeaderValueBytes: Int = 4 * 1024,
        maxHeaderBytes: Int = 32 * 1024,
        maxDetailBytes: Int = 2 * 1024
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.truncatedBodyBytes = min(truncatedBodyBytes, maxBodyBytes)
        self.maxKeyBytes = maxKeyBytes
        self.maxHeaders = maxHeaders
        self.maxHeaderValueBytes = maxHeaderValueBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxDetailBytes = maxDetailBytes
    }

    public static let standard = DeadLetterLimits()

    /// The largest dead letter these limits can produce (body, key, headers and the
    /// `dlq-*` headers), for comparison with the producer's `message.max.bytes`.
    public var largestLetterBytes: Int {
        maxBodyBytes + maxKeyBytes + maxHeaderBytes + maxDetailBytes + 2 * 1024
    }
}

/// A record that could not be handled, as it is written to its dead-letter topic.
public struct DeadLetter: Sendable {
    /// Why the record was parked.
    public var error: MessagingError
    /// The consumer group that gave up on it.
    public var consumerGroup: String
    public var failedAt: Date

    public init(error: MessagingError, consumerGroup: String, failedAt: Date = Date()) {
        self.error = error
        self.consumerGroup = consumerGroup
        self.failedAt = failedAt
    }

    /// The record for `TopicCatalog.deadLetter(for: record.topic)`: the original key, body
    /// and headers, within `limits`, plus the `dlq-*` headers saying why and where from.
    public func record(for original: KafkaConsumerMessage, limits: DeadLetterLimits = .standard) -> KafkaProducerMessage {
        var cut: [String] = []

        var key = original.key
        if let whole = key, whole.count > limits.maxKeyBytes {
            key = whole.prefix(limits.maxKeyBytes)
            cut.append("key")
        }

        var body = original.value
        var bodyHeaders: [KafkaHeader] = []
        if body.count > limits.maxBodyBytes {
            body = original.value.prefix(limits.truncatedBodyBytes)
            cut.append("body")
            bodyHeaders = [
                KafkaHeader(key: DeadLetterHeader.originalSize, string: String(original.value.count)),
                KafkaHeader(key: DeadLetterHeader.originalSHA256, string: Self.sha256(original.value)),
            ]
        }

        var kept: [KafkaHeader] = []
        var dropped: [String] = []
        var headerBytes = 0
        for header in original.headers where !header.key.hasPrefix("dlq-") {
            let size = header.key.utf8.count + (header.value?.count ?? 0)
            if kept.count < limits.maxHeaders, size <= limits.maxHeaderValueBytes, headerBytes + size <= limits.maxHeaderBytes {
                kept.append(header)
                headerBytes += size
            } else {
                dropped.append(header.key)
            }
        }
        if !dropped.isEmpty {
            cut.append("headers")
            let names = dropped.prefix(16).map { Self.clip($0, to: 64) }.joined(separator: ",")
            kept.append(KafkaHeader(key: DeadLetterHeader.headersDropped, string: "\(dropped.count): \(names)"))
        }

        kept += [
            KafkaHeader(key: DeadLetterHeader.reason, string: error.code.rawValue),
            KafkaHeader(key: DeadLetterHeader.detail, string: Self.clip(error.message, to: limits.maxDetailBytes)),
            KafkaHeader(key: DeadLetterHeader.originalTopic, string: original.topic),
            KafkaHeader(key: DeadLetterHeader.originalPartition, string: String(original.partition)),
            KafkaHeader(key: DeadLetterHeader.originalOffset, string: String(original.offset)),
            KafkaHeader(key: DeadLetterHeader.consumerGroup, string: consumerGroup),
            KafkaHeader(key: DeadLetterHeader.failedAt, string: MessageCoding.timestamp(failedAt)),
        ]
        kept += bodyHeaders
        if !cut.isEmpty {
            kept.append(KafkaHeader(key: DeadLetterHeader.truncated, string: cut.joined(separator: ",")))
        }
        return KafkaProducerMessage(topic: TopicCatalog.deadLetter(for: original.topic), key: key, value: body, headers: kept)
    }

    /// The SHA-256 of `data` in lower-case hex, as `dlq-original-sha256` carries it.
    public static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// `text` cut at a character boundary so that its UTF-8 form fits `limit` bytes.
    static func clip(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        var size = 0
        for character in text {
            let length = character.utf8.count
            guard size + length <= limit - 3 else { break }
            result.append(character)
            size += length
        }
        return result + "..."
    }
}
