/// The Kafka header names of the message envelope (see Docs/messages.md).
public enum EnvelopeHeader {
    public static let messageID = "message-id"
    public static let messageType = "message-type"
    public static let correlationID = "correlation-id"
    public static let causationID = "causation-id"
    public static let replyTo = "reply-to"
    public static let traceparent = "traceparent"
    public static let occurredAt = "occurred-at"
    /// Optional: the choreography the message belongs to, copied to every reaction.
    public static let flow = "flow"
}

/// The headers a dead letter carries besides the original ones.
public enum DeadLetterHeader {
    /// A stable reason code (`MessagingError.Code`), e.g. `unknown-message-type`.
    public static let reason = "dlq-reason"
    /// A readable explanation, e.g. which field failed to decode.
    public static let detail = "dlq-detail"
    public static let originalTopic = "dlq-original-topic"
    public static let originalPartition = "dlq-original-partition"
    public static let originalOffset = "dlq-original-offset"
    public static let consumerGroup = "dlq-consumer-group"
    public static let failedAt = "dlq-failed-at"
    /// What was cut to keep the dead letter within `DeadLetterLimits`: `body`, `key`, `headers`.
    public static let truncated = "dlq-truncated"
    /// The size in bytes of a body that was cut.
    public static let originalSize = "dlq-original-size"
    /// The SHA-256 (hex) of a body that was cut.
    public static let originalSHA256 = "dlq-original-sha256"
    /// How many original headers were left out, and their names.
    public static let headersDropped = "dlq-headers-dropped"
}
