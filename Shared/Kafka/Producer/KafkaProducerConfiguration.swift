/// Producer settings. The defaults are durable (idempotent, `acks=all`) and tuned for latency.
public struct KafkaProducerConfiguration: Sendable, Hashable {
    public var client: KafkaClientConfiguration
    /// `linger.ms`: how long librdkafka waits to fill a batch. librdkafka's default is 5 ms,
    /// which would be added to every saga hop. 1 ms lets the sends of concurrent handlers
    /// share a produce request: on the embedded broker, 64 orders in flight, 244–272 → 303–317
    /// orders/s and broker CPU per order −35 % against 0, for about 12 ms more on one order
    /// alone (9 hops; Docs/performance.md).
    public var lingerMilliseconds: Double
    /// `message.timeout.ms`: how long a message may wait for delivery, retries included,
    /// before its delivery report fails. librdkafka's default is 5 minutes.
    public var deliveryTimeout: Duration
    /// `queue.buffering.max.messages`: messages librdkafka may hold; `send` waits when it is full.
    public var maxQueuedMessages: Int
    /// How long the producer waits for outstanding deliveries when it shuts down.
    public var shutdownFlushTimeout: Duration

    public init(
        client: KafkaClientConfiguration = .init(),
        lingerMilliseconds: Double = 1,
        deliveryTimeout: Duration = .seconds(30),
        maxQueuedMessages: Int = 100_000,
        shutdownFlushTimeout: Duration = .seconds(10)
    ) {
        self.client = client
        self.lingerMilliseconds = lingerMilliseconds
        self.deliveryTimeout = deliveryTimeout
        self.maxQueuedMessages = maxQueuedMessages
        self.shutdownFlushTimeout = shutdownFlushTimeout
    }

    /// Every librdkafka property this configuration sets.
    public var librdkafkaProperties: [String: String] {
        var result = client.baseProperties
        result["enable.idempotence"] = "true"
        result["acks"] = "all"
        result["linger.ms"] = Self.format(lingerMilliseconds)
        result["message.timeout.ms"] = String(deliveryTimeout.wholeMilliseconds)
        result["queue.buffering.max.messages"] = String(maxQueuedMessages)
        // Topics come from the catalog, created at start-up; a record for any other topic
        // (a typo, a deleted dead-letter topic) fails instead of creating one by accident.
        result["allow.auto.create.topics"] = "false"
        result.merge(client.properties) { _, new in new }
        return result
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}

extension Duration {
    /// This duration in whole milliseconds.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
