import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle

/// Consumes a subscription through a `MessageRouter`, as a `Service`.
///
/// Each record is decoded and handled in order. What cannot be handled goes to
/// `<topic>.dlq` with the reason and the original topic, partition and offset in headers,
/// and consumption goes on:
/// - a missing or unreadable envelope header, an unknown `message-type`, or a body that
///   does not decode: dead-lettered at once;
/// - a handler throwing `MessageRejection`: dead-lettered at once;
/// - a handler throwing anything else: retried per `retry`, then dead-lettered.
/// The record's offset is committed only after it was handled or dead-lettered.
public struct MessageConsumer: Service {
    public let name: String
    private let bus: any MessageBus
    private let subscription: Subscription
    private let router: MessageRouter
    private let retry: RetryPolicy
    private let logger: Logger
    private let onReady: @Sendable () -> Void

    /// `onReady` is called once the consumer owns partitions (readiness checks use it).
    public init(name: String, bus: any MessageBus, subscription: Subscription, router: MessageRouter, retry: RetryPolicy = .handlerDefault, logger: Logger, onReady: @escaping @Sendable () -> Void = {}) {
        self.name = name
        self.onReady = onReady
        self.bus = bus
        self.subscription = subscription
        self.router = router
        self.retry = retry
        var logger = logger
        logger[metadataKey: "consumer"] = "\(name)"
        self.logger = logger
    }

    public func run() async throws {
        logger.info("consuming", metadata: ["topics": "\(subscription.topics.joined(separator: ","))", "kafka.group": "\(subscription.groupID)"])
        try await bus.consume(subscription, onReady: onReady) { record in
            try await handle(record)
        }
    }

    /// Handles one record: route, retry, or dead-letter. Throws only when a dead letter
    /// cannot be published (the record then stays uncommitted) or on cancellation.
    public func handle(_ record: KafkaConsumerMessage) async throws {
        let envelope: Envelope
        do {
            envelope = try Envelope(record: record)
        } catch {
            try await deadLetter(record, error, messageType: record.headers.string(for: EnvelopeHeader.messageType) ?? "unknown")
            return
        }
        var logger = logger
        logger[metadataKey: "message.id"] = "\(envelope.messageID.uuidString.lowercased())"
        logger[metadataKey: "message.type"] = "\(envelope.messageType)"
        logger[metadataKey: "order.id"] = "\(envelope.correlationID)"

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
                logger.warning("handler failed, retrying", metadata: ["attempt": "\(attempt)", "retry.in": "\(delay)", "error": "\(error)"])
                MessagingMetrics.retried(consumer: name, type: envelope.messageType)
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    private func deadLetter(_ record: KafkaConsumerMessage, _ error: MessagingError, messageType: String, logger: Logger? = nil) async throws {
        let topic = TopicCatalog.deadLetter(for: record.topic)
        var headers = record.headers.filter { !$0.key.hasPrefix("dlq-") }
        headers += [
            KafkaHeader(key: DeadLetterHeader.reason, string: error.code.rawValue),
            KafkaHeader(key: DeadLetterHeader.detail, string: error.message),
            KafkaHeader(key: DeadLetterHeader.originalTopic, string: record.topic),
            KafkaHeader(key: DeadLetterHeader.originalPartition, string: String(record.partition)),
            KafkaHeader(key: DeadLetterHeader.originalOffset, string: String(record.offset)),
            KafkaHeader(key: DeadLetterHeader.consumerGroup, string: subscription.groupID),
            KafkaHeader(key: DeadLetterHeader.failedAt, string: MessageCoding.timestamp(Date())),
        ]
        let letter = KafkaProducerMessage(topic: topic, key: record.key, value: record.value, headers: headers)
        (logger ?? self.logger).error("message dead-lettered", metadata: [
            "dlq.topic": "\(topic)", "dlq.reason": "\(error.code)", "dlq.detail": "\(error.message)",
            "kafka.origin": "\(record.topic)[\(record.partition)]@\(record.offset)",
        ])
        var attempt = 1
        while true {
            do {
                try await bus.publish(letter)
                MessagingMetrics.deadLettered(consumer: name, topic: record.topic, reason: error.code.rawValue, type: messageType)
                return
            } catch {
                // Without the dead letter the record must not be committed: keep trying a while, then stop.
                guard attempt < 5 else {
                    throw MessagingError(code: .publishFailed, message: "dead letter to \(topic) failed: \(error)")
                }
                try await Task.sleep(for: RetryPolicy.handlerDefault.backoff(after: attempt))
                attempt += 1
            }
        }
    }
}
