import Metrics
import Synchronization

/// The metrics every message consumer reports.
enum MessagingMetrics {
    /// One consumer's handled-message counter and duration timer per message type, made
    /// once: making a metric asks the metrics backend to look it up under its lock, which
    /// cost about 1 % of the stack's CPU when it was done for every record.
    final class HandledMeters: Sendable {
        private let consumer: String
        private let meters = Mutex<[String: (handled: Counter, duration: Metrics.Timer)]>([:])
        private let passes = Mutex<[String: Counter]>([:])

        init(consumer: String) {
            self.consumer = consumer
        }

        func handled(type: String, duration: Duration) {
            let (counter, timer) = meters.withLock { meters in
                if let existing = meters[type] { return existing }
                let made = (
                    handled: Counter(label: "ensemble_messages_handled_total", dimensions: [("consumer", consumer), ("type", type), ("outcome", "ok")]),
                    duration: Metrics.Timer(label: "ensemble_message_handler_duration_seconds", dimensions: [("consumer", consumer), ("type", type)], preferredDisplayUnit: .seconds)
                )
                meters[type] = made
                return made
            }
            counter.increment()
            timer.recordNanoseconds(duration.nanoseconds)
        }

        /// A record passed by unread (another flow's): counted, not timed.
        func passed(type: String) {
            let counter = passes.withLock { passes in
                if let existing = passes[type] { return existing }
                let made = Counter(label: "ensemble_messages_handled_total", dimensions: [("consumer", consumer), ("type", type), ("outcome", "passed")])
                passes[type] = made
                return made
            }
            counter.increment()
        }
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
