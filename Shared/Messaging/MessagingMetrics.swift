import Metrics

/// The metrics every message consumer reports.
enum MessagingMetrics {
    static func handled(consumer: String, type: String, outcome: String, duration: Duration) {
        Counter(label: "ensemble_messages_handled_total", dimensions: [("consumer", consumer), ("type", type), ("outcome", outcome)]).increment()
        Metrics.Timer(label: "ensemble_message_handler_duration_seconds", dimensions: [("consumer", consumer), ("type", type)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(duration.nanoseconds)
    }

    static func retried(consumer: String, type: String) {
        Counter(label: "ensemble_message_retries_total", dimensions: [("consumer", consumer), ("type", type)]).increment()
    }

    /// A partition held because its dead letter cannot be written (1), or released (0).
    static func held(consumer: String, partition: String, _ holding: Bool) {
        Gauge(label: "ensemble_consumer_partition_held", dimensions: [("consumer", consumer), ("partition", partition)]).record(holding ? 1 : 0)
    }

    static func deadLettered(consumer: String, topic: String, reason: String, type: String) {
        Counter(label: "ensemble_dead_letters_total", dimensions: [("consumer", consumer), ("topic", topic), ("reason", reason)]).increment()
        Counter(label: "ensemble_messages_handled_total", dimensions: [("consumer", consumer), ("type", type), ("outcome", "dead-lettered")]).increment()
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
