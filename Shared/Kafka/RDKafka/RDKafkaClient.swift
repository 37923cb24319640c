import CRdKafka
import Logging
import Synchronization

/// Owns one librdkafka handle (`rd_kafka_t`) and the callbacks registered on it.
///
/// librdkafka handles are thread-safe, and `handle` never changes after `init`,
/// so sharing an instance between threads is sound; that is what the
/// `@unchecked Sendable` states. The handle is destroyed in `deinit`, after
/// the owner has closed (consumer) or flushed (producer) it.
final class RDKafkaClient: @unchecked Sendable {
    let handle: OpaquePointer
    let logger: Logger
    private let callbacks: Unmanaged<RDKafkaCallbacks>

    enum Kind {
        case producer
        case consumer
    }

    init(kind: Kind, properties: [String: String], callbacks: RDKafkaCallbacks, logger: Logger) throws(KafkaError) {
        try KafkaLibrary.checkVersion()
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .configuration, message: "rd_kafka_conf_new failed")
        }
        do {
            for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
                try Self.set(conf, name, value)
            }
        } catch {
            rd_kafka_conf_destroy(conf)
            throw error
        }

        let retained = Unmanaged.passRetained(callbacks)
        rd_kafka_conf_set_opaque(conf, retained.toOpaque())
        rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, rdKafkaErrorCallback)
        if callbacks.onDelivery != nil {
            rd_kafka_conf_set_dr_msg_cb(conf, rdKafkaDeliveryCallback)
        }
        if callbacks.onRebalance != nil {
            rd_kafka_conf_set_rebalance_cb(conf, rdKafkaRebalanceCallback)
        }
        if callbacks.onCommit != nil {
            rd_kafka_conf_set_offset_commit_cb(conf, rdKafkaCommitCallback)
        }

        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { errorText.deallocate() }
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        // On success rd_kafka_new takes ownership of `conf`; on failure it stays ours.
        guard let handle = rd_kafka_new(type, conf, errorText, 512) else {
            rd_kafka_conf_destroy(conf)
            retained.release()
            throw KafkaError(code: .configuration, message: String(cString: errorText))
        }
        self.handle = handle
        self.callbacks = retained
        self.logger = logger
        self.kind = kind
    }

    private let kind: Kind

    /// Topic handles made by `knowTopics`, released before the client.
    private let topicHandles = Mutex<[String: RDKafkaHandle]>([:])

    /// Makes librdkafka know `topics` now (it fetches their metadata), so the first message
    /// to each of them does not wait for a metadata round trip.
    func knowTopics(_ topics: [String], timeoutMilliseconds: Int32) throws(KafkaError) {
        topicHandles.withLock { handles in
            for topic in topics where handles[topic] == nil {
                if let made = rd_kafka_topic_new(handle, topic, nil) {
                    handles[topic] = RDKafkaHandle(pointer: made)
                }
            }
        }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, nil, &metadata, timeoutMilliseconds)
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.librdkafka(.connection, err, context: "metadata for \(topics.count) topics")
        }
    }

    deinit {
        topicHandles.withLock { handles in
            for topic in handles.values { rd_kafka_topic_destroy(topic.pointer) }
        }
        // A consumer was closed on its poll thread when it ran (commit, leave the group);
        // one that never ran has nothing to leave. Skipping the implicit close keeps
        // destruction from blocking whichever thread releases the last reference.
        if kind == .consumer {
            rd_kafka_destroy_flags(handle, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)
        } else {
            rd_kafka_destroy(handle)
        }
        callbacks.release()
    }

    private static func set(_ conf: OpaquePointer, _ name: String, _ value: String) throws(KafkaError) {
        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { errorText.deallocate() }
        if rd_kafka_conf_set(conf, name, value, errorText, 512) != RD_KAFKA_CONF_OK {
            throw KafkaError(code: .configuration, message: "property \(name)=\(value): \(String(cString: errorText))")
        }
    }

    /// Interrupts a blocking `poll` on this handle so its thread can see a stop request at once.
    func wakeUp() {
        rd_kafka_yield(handle)
    }

    /// Serves delivery reports (and other callbacks) for up to `timeoutMilliseconds`. Blocks.
    func poll(timeoutMilliseconds: Int32) {
        rd_kafka_poll(handle, timeoutMilliseconds)
    }

    /// Waits up to `timeoutMilliseconds` for every queued message to be delivered; false if some are left.
    func flush(timeoutMilliseconds: Int32) -> Bool {
        rd_kafka_flush(handle, timeoutMilliseconds) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Messages waiting for delivery (or other requests in flight).
    var outQueueLength: Int { Int(rd_kafka_outq_len(handle)) }

    /// Queues `message` for production; `token` comes back with its delivery report.
    func produce(_ message: KafkaProducerMessage, token: UInt) -> KafkaError? {
        RDKafkaProduce.produce(handle: handle, message: message, opaque: UnsafeMutableRawPointer(bitPattern: token))
    }

    /// Fetches metadata off the cooperative pool; a broker that does not answer within
    /// `timeout` becomes one `.connection` error naming `servers`.
    func checkConnection(servers: String, timeout: Duration) async throws(KafkaError) -> KafkaClusterMetadata {
        try await DedicatedThread.perform { () throws(KafkaError) -> KafkaClusterMetadata in
            do throws(KafkaError) {
                return try self.fetchMetadata(timeoutMilliseconds: Int32(clamping: timeout.wholeMilliseconds))
            } catch {
                let cause = self.callbacks.takeUnretainedValue().lastFailure.withLock { $0 }.map { "; last failure: \($0)" } ?? ""
                throw KafkaError(
                    code: .connection,
                    message: "no Kafka broker answered at \(servers) within \(timeout) (\(error.message)\(cause))",
                    librdkafkaCode: error.librdkafkaCode,
                    librdkafkaName: error.librdkafkaName,
                    isRetriable: true
                )
            }
        }
    }

    /// Asks the cluster for metadata; blocks up to `timeoutMilliseconds`. Run off the cooperative pool.
    func fetchMetadata(timeoutMilliseconds: Int32) throws(KafkaError) -> KafkaClusterMetadata {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError.librdkafka(.connection, err, context: "metadata request")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let md = metadata.pointee
        var brokers: [String] = []
        for index in 0..<Int(md.broker_cnt) {
            let broker = md.brokers[index]
            brokers.append("\(String(cString: broker.host)):\(broker.port)")
        }
        var topics: [String: Int] = [:]
        for index in 0..<Int(md.topic_cnt) {
            let topic = md.topics[index]
            guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            topics[String(cString: topic.topic)] = Int(topic.partition_cnt)
        }
        return KafkaClusterMetadata(brokers: brokers, topics: topics)
    }
}

/// A librdkafka handle to keep in shared state. librdkafka handles are thread-safe,
/// which is what the `@unchecked Sendable` states; the owner keeps the handle alive.
struct RDKafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// What a metadata request saw: the brokers and each topic's partition count.
public struct KafkaClusterMetadata: Sendable, Hashable {
    public let brokers: [String]
    public let topics: [String: Int]
}

/// The Swift side of librdkafka's callbacks. One instance per handle, passed as its opaque.
///
/// Callbacks run on the thread that polls the handle (delivery, rebalance, commit)
/// or on librdkafka's internal threads (log, error); every closure is `@Sendable`.
final class RDKafkaCallbacks: Sendable {
    typealias Delivery = @Sendable (_ token: UInt, _ result: Result<KafkaDeliveryReport, KafkaError>) -> Void
    typealias Rebalance = @Sendable (_ change: RDKafkaRebalance) -> Void
    /// A background commit finished: nil on success (or when there was nothing to commit).
    typealias Commit = @Sendable (_ error: KafkaError?) -> Void
    typealias ClientError = @Sendable (_ error: KafkaError, _ isFatal: Bool) -> Void

    let logger: Logger
    let onDelivery: Delivery?
    let onRebalance: Rebalance?
    let onCommit: Commit?
    let onError: ClientError?
    /// The last connection failure librdkafka logged (a refused SASL handshake, a TLS
    /// error), so a start-up error can say why no broker answered.
    let lastFailure = Mutex<String?>(nil)

    init(logger: Logger, onDelivery: Delivery? = nil, onRebalance: Rebalance? = nil, onCommit: Commit? = nil, onError: ClientError? = nil) {
        self.logger = logger
        self.onDelivery = onDelivery
        self.onRebalance = onRebalance
        self.onCommit = onCommit
        self.onError = onError
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaCallbacks? {
        opaque.map { Unmanaged<RDKafkaCallbacks>.fromOpaque($0).takeUnretainedValue() }
    }
}

// MARK: - C callbacks (no captures; they find the Swift side through the handle's opaque)

private let rdKafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = { handle, level, facility, text in
    guard let handle, let callbacks = RDKafkaCallbacks.from(rd_kafka_opaque(handle)) else { return }
    let message = text.map { String(cString: $0) } ?? ""
    let facility = facility.map { String(cString: $0) } ?? ""
    // syslog levels: 0 emerg ... 3 err, 4 warning, 5 notice, 6 info, 7 debug. librdkafka
    // logs transient trouble it retries by itself (a refused connection) as "err"; what the
    // application must act on reaches it as a KafkaError, so that is a warning here.
    if level <= 4, facility == "FAIL" || facility == "ERROR" || facility.hasPrefix("SASL") || facility.hasPrefix("SSL") {
        // "[thrd:...]: host:port/bootstrap: the reason": keep the reason.
        let reason = message.components(separatedBy: "/bootstrap: ").last ?? message
        callbacks.lastFailure.withLock { $0 = reason }
    }
    let swiftLevel: Logger.Level = switch level {
    case ...2: .error
    case 3, 4: .warning
    case 5, 6: .info
    default: .debug
    }
    callbacks.logger.log(level: swiftLevel, "librdkafka log", metadata: [
        KafkaLogKey.log: "\(message)",
        KafkaLogKey.facility: "\(facility)",
        KafkaLogKey.client: "\(String(cString: rd_kafka_name(handle)))",
    ])
}

private let rdKafkaErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = { handle, code, reason, opaque in
    guard let callbacks = RDKafkaCallbacks.from(opaque) else { return }
    let err = rd_kafka_resp_err_t(rawValue: code)
    var isFatal = false
    var error = KafkaError.librdkafka(.connection, err, context: reason.map { String(cString: $0) })
    if err == RD_KAFKA_RESP_ERR__FATAL, let handle {
        isFatal = true
        let text = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { text.deallocate() }
        let original = rd_kafka_fatal_error(handle, text, 512)
        error = KafkaError.librdkafka(.connection, original, context: "fatal: \(String(cString: text))")
    }
    if let onError = callbacks.onError {
        onError(error, isFatal)
    } else {
        callbacks.logger.warning("Kafka client error", metadata: [KafkaLogKey.error: "\(error)"])
    }
}

private let rdKafkaDeliveryCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = { _, message, opaque in
    guard let message else { return }
    let record = message.pointee
    let token = UInt(bitPattern: record._private)
    // Hot path: a message nobody awaits (token 0) that was delivered needs no work.
    if token == 0 && record.err == RD_KAFKA_RESP_ERR_NO_ERROR { return }
    guard let callbacks = RDKafkaCallbacks.from(opaque), let onDelivery = callbacks.onDelivery else { return }
    let topic = record.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    if record.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        onDelivery(token, .success(KafkaDeliveryReport(topic: topic, partition: record.partition, offset: record.offset)))
    } else {
        onDelivery(token, .failure(KafkaError.librdkafka(.produce, record.err, context: "delivery to \(topic) failed")))
    }
}

private let rdKafkaRebalanceCallback: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = { handle, event, partitions, opaque in
    guard let handle, let partitions, let callbacks = RDKafkaCallbacks.from(opaque), let onRebalance = callbacks.onRebalance else { return }
    rdKafkaApplyRebalance(handle, event, partitions, notify: onRebalance)
}

private let rdKafkaCommitCallback: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = { _, result, _, opaque in
    guard let callbacks = RDKafkaCallbacks.from(opaque), let onCommit = callbacks.onCommit else { return }
    let failed = result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__NO_OFFSET
    onCommit(failed ? KafkaError.librdkafka(.commit, result, context: "offset commit") : nil)
}
