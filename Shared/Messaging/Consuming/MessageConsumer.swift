import Foundation
import Messaging
import Kafka
import Logging
import Metrics
import ServiceLifecycle

/// Consumes a subscription through a `MessageRouter`, as a `Service`.
///
/// Records are handled in order within a partition, partitions side by side. What cannot
/// be handled goes to `<topic>.dlq` (see `DeadLetter`) with the reason and the original
/// topic, partition and offset in headers, and consumption goes on:
/// - a record over `maxRecordBytes` or `maxHeaders`, a missing or unreadable envelope header, an unknown
///   `message-type`, or a body that does not decode: dead-lettered at once;
/// - a handler throwing `MessageRejection`: dead-lettered at once;
/// - a handler throwing anything else: retried per `retry`, then dead-lettered.
/// The record's offset is committed only after it was handled or dead-lettered. A dead
/// letter is bounded in size (`DeadLetterLimits`), so the record itself cannot make its
/// write fail; when the write fails for another reason (the dead-letter topic is missing,
/// the broker is away), the consumer holds that partition and retries with backoff,
/// reporting the hold through `onHold`, while its other partitions go on.
public struct MessageConsumer: Service {
    /// Records larger than this (key, body and headers) are dead-lettered without being decoded.
    public static let defaultMaxRecordBytes = 1024 * 1024
    /// Records with more headers than this are dead-lettered without being decoded (the
    /// envelope has seven).
    public static let defaultMaxHeaders = 64

    public let name: String
    private let bus: any MessageBus
    private let subscription: Subscription
    private let router: MessageRouter
    private let retry: RetryPolicy
    private let maxRecordBytes: Int
    private let maxHeaders: Int
    private let deadLetterLimits: DeadLetterLimits
    private let deadLetterRetry: RetryPolicy
    private let logger: Logger
    private let onReady: @Sendable () -> Void
    private let onHold: @Sendable (_ partition: String, _ reason: String?) -> Void

    /// `onReady` is called once the consumer owns partitions (readiness checks use it).
    /// `onHold` is called with a reason when a partition is held because its dead letter
    /// cannot be written, and with `nil` once it moves again.
    public init(
        name: String,
        bus: any MessageBus,
        subscription: Subscription,
        router: MessageRouter,
        retry: RetryPolicy = .handlerDefault,
        maxRecordBytes: Int = Self.defaultMaxRecordBytes,
        maxHeaders: Int = Self.defaultMaxHeaders,
        deadLetterLimits: DeadLetterLimits = .standard,
        deadLetterRetry: RetryPolicy = RetryPolicy(attempts: .max, initialBackoff: .milliseconds(100), multiplier: 2, maxBackoff: .seconds(5)),
        logger: Logger,
        onReady: @escaping @Sendable () -> Void = {},
        onHold: @escaping @Sendable (_ partition: String, _ reason: String?) -> Void = { _, _ in }
    ) {
        self.name = name
        self.onReady = onReady
        self.onHold = onHold
        self.bus = bus
        self.subscription = subscription
        self.router = router
        self.retry = retry
        self.maxRecordBytes = maxRecordBytes
        self.maxHeaders = maxHeaders
        self.deadLetterLimits = deadLetterLimits
        self.deadLetterRetry = deadLetterRetry
        var logger = logger
        logger[metadataKey: LogKey.consumer] = "\(name)"
        self.logger = logger
    }

    public func run() async throws {
        logger.info("consuming", metadata: [LogKey.kafkaTopics: "\(subscription.topics.joined(separator: ","))", LogKey.kafkaGroup: "\(subscription.groupID)"])
        try await bus.consume(subscription, onReady: onReady) { record in
            try await handle(record)
        }
    }

    /// Handles one record: route, retry, or dead-letter. Throws only `CancellationError`,
    /// on cancellation or graceful shutdown while a dead letter is being retried (the record
    /// then stays uncommitted and is read again after the restart).
    public func handle(_ record: KafkaConsumerMessage) async throws {
        let size = record.value.count + (record.key?.count ?? 0) + record.headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
        if size > maxRecordBytes || record.headers.count > maxHeaders {
            let message = size > maxRecordBytes
                ? "the record has \(size) bytes; this consumer accepts at most \(maxRecordBytes)"
                : "the record has \(record.headers.count) headers; this consumer accepts at most \(maxHeaders)"
            try await deadLetter(record, MessagingError(code: .tooLarge, message: message), messageType: record.headers.string(for: EnvelopeHeader.messageType) ?? "unknown")
            return
        }
        let envelope: Envelope
        do {
            envelope = try Envelope(record: record)
        } catch {
            try await deadLetter(record, error, messageType: record.headers.string(for: EnvelopeHeader.messageType) ?? "unknown")
            return
        }
        var logger = logger
        logger[metadataKey: LogKey.messageID] = "\(envelope.messageID.uuidString.lowercased())"
        logger[metadataKey: LogKey.messageType] = "\(envelope.messageType)"
        logger[metadataKey: LogKey.orderID] = "\(envelope.correlationID)"

        let prepared: MessageRouter.Prepared
        do {
            prepared = try router.prepare(envelope)
        } catch {
            try await deadLetter(record, error, messageType: envelope.messageType, logger: logger)
            return
        }

        logger.debug("handling")
        let started = ContinuousClock.now
        var attempt = 1
        while true {
            do {
                try await prepared()
                MessagingMetrics.handled(consumer: name, type: envelope.messageType, outcome: "ok", duration: ContinuousClock.now - started)
                return
            } catch let rejection as MessageRejection {
                try await deadLetter(record, MessagingError(code: .rejected, message: rejection.reason), messageType: envelope.messageType, logger: logger)
                return
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                guard attempt < retry.attempts else {
                    let failure = MessagingError(code: .handlerFailed, message: "failed \(attempt) times; last error: \(error)")
                    try await deadLetter(record, failure, messageType: envelope.messageType, logger: logger)
                    return
                }
                let delay = retry.backoff(after: attempt)
                logger.warning("handler failed, retrying", metadata: [LogKey.attempt: "\(attempt)", LogKey.retryIn: "\(delay)", LogKey.error: "\(error)"])
                MessagingMetrics.retried(consumer: name, type: envelope.messageType)
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    /// Writes the bounded dead letter of `record`; until the write succeeds the partition
    /// is held (the caller does not return, so nothing after the record is committed).
    private func deadLetter(_ record: KafkaConsumerMessage, _ error: MessagingError, messageType: String, logger: Logger? = nil) async throws {
        let letter = DeadLetter(error: error, consumerGroup: subscription.groupID).record(for: record, limits: deadLetterLimits)
        let logger = logger ?? self.logger
        let origin = "\(record.topic)[\(record.partition)]"
        logger.error("message dead-lettered", metadata: [
            LogKey.deadLetterTopic: "\(letter.topic)", LogKey.deadLetterReason: "\(error.code)", LogKey.deadLetterDetail: "\(DeadLetter.clip(error.message, to: 512))",
            LogKey.kafkaOrigin: "\(origin)@\(record.offset)", LogKey.recordBytes: "\(record.value.count)",
        ])
        var failures = 0
        while true {
            do {
                try await bus.publish(letter)
                MessagingMetrics.deadLettered(consumer: name, topic: record.topic, reason: error.code.rawValue, type: messageType)
                if failures > 0 {
                    logger.notice("partition released: dead letter written", metadata: [LogKey.kafkaPartition: "\(origin)", LogKey.attempts: "\(failures + 1)"])
                    MessagingMetrics.held(consumer: name, partition: origin, false)
                    onHold(origin, nil)
                }
                return
            } catch {
                failures += 1
                let delay = deadLetterRetry.backoff(after: failures)
                if failures == 1 {
                    MessagingMetrics.held(consumer: name, partition: origin, true)
                    onHold(origin, "dead letter to \(letter.topic) cannot be written: \(error)")
                }
                logger.error("dead letter not written; holding the partition", metadata: [
                    LogKey.deadLetterTopic: "\(letter.topic)", LogKey.kafkaPartition: "\(origin)", LogKey.kafkaOffset: "\(record.offset)",
                    LogKey.attempt: "\(failures)", LogKey.retryIn: "\(delay)", LogKey.error: "\(error)",
                ])
                try await Self.pause(delay)
            }
        }
    }

    /// Sleeps `delay`, throwing `CancellationError` on cancellation or graceful shutdown.
    private static func pause(_ delay: Duration) async throws {
        let deadline = ContinuousClock.now + delay
        while ContinuousClock.now < deadline {
            if Task.isShuttingDownGracefully { throw CancellationError() }
            try await Task.sleep(for: min(.milliseconds(100), deadline - ContinuousClock.now))
        }
    }
}
