import CRdKafka
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A Kafka consumer with at-least-once delivery.
///
/// Read `messages`, handle each one, then `commit(_:)` it: the offset is stored and
/// committed in the background (coalesced), committed synchronously before partitions
/// are revoked in a rebalance, and once more when the consumer stops.
///
/// Run it as a `Service`: `run()` polls librdkafka on a dedicated thread. On graceful
/// shutdown it stops fetching, waits (up to `shutdownDrainTimeout`) until the messages
/// already handed out are handled, commits, and leaves the group.
public final class KafkaConsumer: Service, Sendable {
    public let messages: KafkaConsumerMessages

    private let client: RDKafkaClient
    private let source: KafkaConsumerMessages.Backing.Source
    private let signals: ConsumerSignals
    private let group: GroupState
    private let configuration: KafkaConsumerConfiguration
    private let logger: Logger
    private let stop = Mutex<StopMode?>(nil)

    private enum StopMode {
        case graceful
        case immediate
    }

    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        let group = GroupState(logger: logger)
        let callbacks = RDKafkaCallbacks(
            logger: logger,
            onRebalance: { handle, event, partitions in group.rebalance(handle: handle, event: event, partitions: partitions) },
            onCommit: { result, offsets in group.commitFinished(result: result, offsets: offsets) }
        )
        let client = try RDKafkaClient(kind: .consumer, properties: configuration.librdkafkaProperties, callbacks: callbacks, logger: logger)
        group.attach(client.handle)
        // Serve rebalance and commit callbacks from `rd_kafka_consumer_poll`.
        rd_kafka_poll_set_consumer(client.handle)

        let signals = ConsumerSignals()
        let capacity = max(configuration.bufferCapacity, 2)
        let sequence = KafkaConsumerMessages.Backing.makeSequence(
            elementType: KafkaConsumerMessage.self,
            backPressureStrategy: .init(lowWatermark: capacity / 2, highWatermark: capacity),
            finishOnDeinit: false,
            delegate: ConsumerSequenceDelegate(signals: signals)
        )

        switch configuration.consumption {
        case .subscribe(let topics):
            guard !topics.isEmpty else { throw KafkaError(code: .configuration, message: "subscribe needs at least one topic") }
            let list = RDKafkaPartitionList(topics.map { KafkaTopicPartition(topic: $0, partition: -1) })
            let err = rd_kafka_subscribe(client.handle, list.pointer)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.librdkafka(.consume, err, context: "subscribe to \(topics.joined(separator: ", "))")
            }
        case .assign(let partitions):
            let list = RDKafkaPartitionList(partitions)
            let err = rd_kafka_assign(client.handle, list.pointer)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.librdkafka(.consume, err, context: "assign \(partitions)")
            }
            group.setAssignment(Set(partitions.map { KafkaTopicPartition(topic: $0.topic, partition: $0.partition) }))
        }

        self.client = client
        self.group = group
        self.signals = signals
        self.source = sequence.source
        self.messages = KafkaConsumerMessages(backing: sequence.sequence)
        self.configuration = configuration
        self.logger = logger
    }

    /// The partitions this consumer owns right now (start offsets omitted).
    public var assignment: Set<KafkaTopicPartition> { group.assignment }

    /// Marks `message` handled: its offset is stored and committed in the background.
    ///
    /// Returns `false` when the message's partition is no longer assigned to this
    /// consumer (it was revoked in a rebalance); its new owner will read it again.
    @discardableResult
    public func commit(_ message: KafkaConsumerMessage) -> Bool {
        let list = RDKafkaPartitionList([KafkaTopicPartition(topic: message.topic, partition: message.partition, start: .offset(message.offset + 1))])
        let err = rd_kafka_offsets_store(client.handle, list.pointer)
        let partitionError = list.pointer.pointee.elems[0].err
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, partitionError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let cause = err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : partitionError
            logger.debug("offset not stored for \(message.topic)[\(message.partition)]@\(message.offset): \(String(cString: rd_kafka_err2str(cause)))")
            return false
        }
        group.requestCommit()
        return true
    }

    /// Tells the consumer that the application took a message out of `messages` and is
    /// still working on it (in another task, say): a graceful stop waits for the matching
    /// `finishedHandling()` (up to `shutdownDrainTimeout`) before its last commit.
    public func startedHandling() {
        signals.handlingStarted()
    }

    /// The application is done with a message it announced with `startedHandling()`.
    public func finishedHandling() {
        signals.handlingFinished()
    }

    /// Stops fetching `partitions` until `resume(_:)`. librdkafka drops what it had
    /// fetched ahead for them and, on resume, fetches again from the message after the
    /// last one handed to the application, so nothing is skipped. Partitions that are not
    /// assigned are ignored. Safe from any thread.
    public func pause(_ partitions: [KafkaTopicPartition]) {
        guard !partitions.isEmpty else { return }
        let list = RDKafkaPartitionList(partitions)
        let err = rd_kafka_pause_partitions(client.handle, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.debug("pause failed", metadata: ["kafka.partitions": "\(partitions)", "error": "\(String(cString: rd_kafka_err2str(err)))"])
        }
    }

    /// Fetches `partitions` again after `pause(_:)`.
    public func resume(_ partitions: [KafkaTopicPartition]) {
        guard !partitions.isEmpty else { return }
        let list = RDKafkaPartitionList(partitions)
        let err = rd_kafka_resume_partitions(client.handle, list.pointer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.debug("resume failed", metadata: ["kafka.partitions": "\(partitions)", "error": "\(String(cString: rd_kafka_err2str(err)))"])
        }
    }

    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await DedicatedThread.run(name: "kafka-consumer-poll") { [self] in
                    pollUntilStopped()
                }
            } onGracefulShutdown: { [self] in
                requestStop(.graceful)
            }
        } onCancel: { [self] in
            requestStop(.immediate)
        }
    }

    /// Stops the consumer as on graceful shutdown (used when it is not run in a `ServiceGroup`).
    public func shutdownGracefully() {
        requestStop(.graceful)
    }

    private func requestStop(_ mode: StopMode) {
        stop.withLock { current in
            if current == nil || mode == .immediate { current = mode }
        }
        client.wakeUpConsumer()
        signals.demandArrived()
    }

    // MARK: - Poll thread

    private func pollUntilStopped() {
        var failure: KafkaError?
        while stop.withLock({ $0 }) == nil {
            guard let raw = rd_kafka_consumer_poll(client.handle, 100) else { continue }
            defer { rd_kafka_message_destroy(raw) }
            if raw.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if let fatal = handleErrorMessage(raw) {
                    failure = fatal
                    break
                }
                continue
            }
            // A message fetched after a stop request is not handed out: it is not
            // committed, so the group reads it again after the restart.
            guard stop.withLock({ $0 }) == nil else { break }
            let epoch = signals.epoch
            switch source.yield(Self.makeMessage(raw)) {
            case .produceMore:
                continue
            case .stopProducing:
                // The application is behind: wait for it before fetching more.
                while stop.withLock({ $0 }) == nil, !signals.waitForDemand(after: epoch, timeout: 0.1) {}
            case .dropped:
                // Nobody iterates `messages` any more.
                requestStop(.immediate)
            }
        }
        close(failure: failure)
    }

    private func close(failure: KafkaError?) {
        let mode = stop.withLock { $0 } ?? .immediate
        if let failure {
            source.finish(failure)
        } else {
            source.finish()
        }
        if mode == .graceful, failure == nil {
            let drained = signals.waitForTermination(timeout: Double(configuration.shutdownDrainTimeout.wholeMilliseconds) / 1000)
            if !drained {
                logger.warning("Kafka consumer stopped before the application handled every fetched message; they will be read again")
            }
        }
        group.commitSync()
        let err = rd_kafka_consumer_close(client.handle)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("Kafka consumer close: \(String(cString: rd_kafka_err2str(err)))")
        }
    }

    /// Logs a consumer error event; returns an error when the consumer cannot go on.
    private func handleErrorMessage(_ raw: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaError? {
        let err = raw.pointee.err
        if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
        let topic = raw.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "-"
        let error = KafkaError.librdkafka(.consume, err, context: "consumer error on \(topic)")
        let text = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { text.deallocate() }
        if rd_kafka_fatal_error(client.handle, text, 512) != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.error("Kafka consumer failed: \(String(cString: text))")
            return error
        }
        logger.warning("\(error)")
        return nil
    }

    private static func makeMessage(_ raw: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaConsumerMessage {
        let record = raw.pointee
        let topic = record.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let key = record.key.map { Data(bytes: $0, count: record.key_len) }
        let value = record.payload.map { Data(bytes: $0, count: record.len) } ?? Data()
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(raw, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let name {
                    headers.append(KafkaHeader(key: String(cString: name), value: bytes.map { Data(bytes: $0, count: size) }))
                }
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(raw, &timestampType)
        let timestamp = milliseconds >= 0 ? Date(timeIntervalSince1970: Double(milliseconds) / 1000) : nil
        return KafkaConsumerMessage(
            topic: topic, partition: record.partition, offset: record.offset,
            key: key, value: value, headers: headers, timestamp: timestamp
        )
    }
}
