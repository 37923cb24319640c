import Foundation
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
/// The record's offset is committed only after it was handled or dead-lettered.
///
/// Records arrive in batches (what a partition's lane has received, up to `maxBatch`).
/// The records of a batch that decode are handled in order inside `batchScope` — the
/// service's group commit (`Database.batch`), so they cost one database commit — and the
/// first one that throws ends the group: what came before it commits, and it and the rest
/// are handled one at a time, with the retries and dead letters above. A dead
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
    /// Records of one partition handled in one group commit, at most.
    public static let defaultMaxBatch = 64

    /// Runs a group of handlers as one unit of work (a database group commit), returning
    /// what its body returns; it throws only when the unit as a whole failed (nothing of it
    /// took effect).
    public typealias BatchScope = @Sendable (_ body: @Sendable () async throws -> BatchStop?) async throws -> BatchStop?

    /// Where a group commit's handling stopped: the record that threw, and its error.
    public struct BatchStop: Sendable {
        public let index: Int
        public let error: any Error
    }

    public let name: String
    private let bus: any MessageBus
    public let subscription: Subscription
    private let router: MessageRouter
    private let retry: RetryPolicy
    private let maxRecordBytes: Int
    private let maxHeaders: Int
    private let deadLetterLimits: DeadLetterLimits
    private let deadLetterRetry: RetryPolicy
    private let maxBatch: Int
    private let batchScope: BatchScope?
    private let logger: Logger
    private let onReady: @Sendable () -> Void
    private let onHold: @Sendable (_ partition: String, _ reason: String?) -> Void
    private let meters: MessagingMetrics.HandledMeters

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
        maxBatch: Int = Self.defaultMaxBatch,
        batchScope: BatchScope? = nil,
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
        self.maxBatch = batchScope == nil ? 1 : max(1, maxBatch)
        self.batchScope = batchScope
        self.meters = MessagingMetrics.HandledMeters(consumer: name)
        var logger = logger
        logger[metadataKey: LogKey.consumer] = "\(name)"
        self.logger = logger
    }

    /// The same handlers, limits and group commit on another subscription and bus: what
    /// `ensemble replay` runs under a fresh consumer group.
    public func reading(_ subscription: Subscription, on bus: any MessageBus, name: String) -> MessageConsumer {
        MessageConsumer(
            name: name, bus: bus, subscription: subscription, router: router, retry: retry, maxRecordBytes: maxRecordBytes, maxHeaders: maxHeaders,
            deadLetterLimits: deadLetterLimits, deadLetterRetry: deadLetterRetry, maxBatch: maxBatch, batchScope: batchScope, logger: logger
        )
    }

    public func run() async throws {
        logger.info("consuming", metadata: [LogKey.kafkaTopics: "\(subscription.topics.joined(separator: ","))", LogKey.kafkaGroup: "\(subscription.groupID)"])
        try await bus.consume(subscription, maxBatch: maxBatch, onReady: onReady) { records in
            try await handle(records)
        }
    }

    /// A record whose envelope was read and whose handler is found and decoded.
    private struct Ready: Sendable {
        let record: KafkaConsumerMessage
        let envelope: Envelope
        let prepared: MessageRouter.Prepared
        let logger: Logger
    }

    /// Handles one partition's records, in order: the ones that decode in groups (see the
    /// type's documentation), the others dead-lettered between them. Throws only
    /// `CancellationError` (see `handle(_:)` for one record).
    public func handle(_ records: [KafkaConsumerMessage]) async throws {
        var group: [Ready] = []
        for record in records {
            switch prepare(record) {
            case .ready(let ready):
                group.append(ready)
            case .deadLetter(let error, let messageType, let logger):
                try await handle(group)
                group.removeAll()
                try await deadLetter(record, error, messageType: messageType, logger: logger)
            case .pass(let messageType):
                meters.passed(type: messageType)
            }
        }
        try await handle(group)
    }

    /// Handles one record: route, retry, or dead-letter. Throws only `CancellationError`,
    /// on cancellation or graceful shutdown while a dead letter is being retried (the record
    /// then stays uncommitted and is read again after the restart).
    public func handle(_ record: KafkaConsumerMessage) async throws {
        switch prepare(record) {
        case .ready(let ready):
            try await handleAlone(ready)
        case .deadLetter(let error, let messageType, let logger):
            try await deadLetter(record, error, messageType: messageType, logger: logger)
        case .pass(let messageType):
            meters.passed(type: messageType)
        }
    }

    private enum Preparation {
        case ready(Ready)
        case deadLetter(MessagingError, messageType: String, logger: Logger?)
        /// Of a type the router lets pass in this record's flow: committed unread.
        case pass(messageType: String)
    }

    /// Checks the record's size, reads its envelope and decodes it for its handler.
    private func prepare(_ record: KafkaConsumerMessage) -> Preparation {
        let messageType = record.headers.string(for: EnvelopeHeader.messageType)
        let size = record.value.count + (record.key?.count ?? 0) + record.headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
        if size > maxRecordBytes || record.headers.count > maxHeaders {
            let message = size > maxRecordBytes
                ? "the record has \(size) bytes; this consumer accepts at most \(maxRecordBytes)"
                : "the record has \(record.headers.count) headers; this consumer accepts at most \(maxHeaders)"
            return .deadLetter(MessagingError(code: .tooLarge, message: message), messageType: messageType ?? "unknown", logger: nil)
        }
        if let messageType, router.passes(messageType: messageType, flow: record.headers.string(for: EnvelopeHeader.flow)) {
            return .pass(messageType: messageType)
        }
        let envelope: Envelope
        do {
            envelope = try Envelope(record: record)
        } catch {
            return .deadLetter(error, messageType: messageType ?? "unknown", logger: nil)
        }
        var logger = logger
        logger[metadataKey: LogKey.messageID] = "\(envelope.messageID.lowercasedText)"
        logger[metadataKey: LogKey.messageType] = "\(envelope.messageType)"
        logger[metadataKey: LogKey.orderID] = "\(envelope.correlationID)"
        if let (trace, span) = Envelope.traceIDs(of: envelope.traceparent) {
            logger[metadataKey: LogKey.traceID] = "\(trace)"
            logger[metadataKey: LogKey.spanID] = "\(span)"
        }
        do {
            return .ready(Ready(record: record, envelope: envelope, prepared: try router.prepare(envelope), logger: logger))
        } catch {
            return .deadLetter(error, messageType: envelope.messageType, logger: logger)
        }
    }

    /// Handles decoded records in order: as one group commit when there are several and a
    /// scope is configured. The first one that throws ends the group (what came before it
    /// commits): rejected, it is dead-lettered; failed, it is handled alone with the retry
    /// policy; then the rest form the next group.
    private func handle(_ group: [Ready]) async throws {
        guard !group.isEmpty else { return }
        guard group.count > 1, let batchScope else {
            for ready in group { try await handleAlone(ready) }
            return
        }
        let (name, meters) = (self.name, self.meters)
        let stopped: BatchStop?
        do {
            stopped = try await batchScope {
                for (index, ready) in group.enumerated() {
                    ready.logger.debug("handling")
                    let started = ContinuousClock.now
                    do {
                        try await MessageTrace.handling(ready.envelope, consumer: name) { try await ready.prepared() }
                    } catch {
                        // Its own transaction rolled back; the ones before it stay.
                        return BatchStop(index: index, error: error)
                    }
                    meters.handled(type: ready.envelope.messageType, duration: ContinuousClock.now - started)
                }
                return nil
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The group as a whole did not commit: nothing of it happened.
            logger.warning("batch not committed; handling its records one at a time", metadata: [LogKey.error: "\(error)", "count": "\(group.count)"])
            for ready in group { try await handleAlone(ready) }
            return
        }
        guard let stopped else { return }
        let failed = group[stopped.index]
        switch stopped.error {
        case is CancellationError:
            throw CancellationError()
        case let rejection as MessageRejection:
            try await deadLetter(failed.record, MessagingError(code: .rejected, message: rejection.reason), messageType: failed.envelope.messageType, logger: failed.logger)
        default:
            try await handleAlone(failed)
        }
        try await handle(Array(group[(stopped.index + 1)...]))
    }

    /// Handles one decoded record with the retry policy; dead-letters it when rejected or
    /// when it keeps failing.
    private func handleAlone(_ ready: Ready) async throws {
        let (record, envelope, prepared, logger) = (ready.record, ready.envelope, ready.prepared, ready.logger)
        logger.debug("handling")
        let started = ContinuousClock.now
        var attempt = 1
        while true {
            do {
                try await MessageTrace.handling(envelope, consumer: name) { try await prepared() }
                meters.handled(type: envelope.messageType, duration: ContinuousClock.now - started)
                return
            } catch let rejection as MessageRejection {
                try await deadLetter(record, MessagingError(code: .rejected, message: rejection.reason), messageType: envelope.messageType, logger: logger)
                return
            } catch let error as MessagingError where error.code == .malformedBody {
                // A handler that decodes the body itself (the aggregator's projection) found
                // that it does not match its contract: another attempt cannot change that.
                try await deadLetter(record, error, messageType: envelope.messageType, logger: logger)
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
