import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An idempotent, `acks=all` Kafka producer.
///
/// Run it as a `Service`: `run()` serves delivery reports on a dedicated thread and,
/// on graceful shutdown, flushes what is outstanding. Put it before its users in a
/// `ServiceGroup` so it is shut down after them.
public final class KafkaProducer: Service, Sendable {
    private let client: RDKafkaClient
    private let tracker: DeliveryTracker
    private let lifecycle = Mutex(StateMachine())
    private let configuration: KafkaProducerConfiguration
    private let logger: Logger

    fileprivate struct State {
        var nextToken: UInt = 1
        var pending: [UInt: Pending] = [:]
        var flushWaiters: [CheckedContinuation<Void, any Error>] = []
        var failedWithoutWaiter = 0
    }

    /// A message whose delivery report someone awaits: the report may arrive
    /// before or after the awaiting side has registered its continuation.
    fileprivate enum Pending {
        case produced
        case waiting(CheckedContinuation<KafkaDeliveryReport, any Error>)
        case delivered(Result<KafkaDeliveryReport, KafkaError>)
    }

    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        // The tracker exists before the handle: librdkafka's delivery callback is registered at creation.
        let tracker = DeliveryTracker(logger: logger)
        let callbacks = RDKafkaCallbacks(logger: logger, onDelivery: { token, result in
            tracker.delivered(token: token, result: result)
        })
        self.client = try RDKafkaClient(kind: .producer, properties: configuration.librdkafkaProperties, callbacks: callbacks, logger: logger)
        self.tracker = tracker
        self.configuration = configuration
        self.logger = logger
    }

    /// Messages whose delivery failed and that nobody awaited (see `enqueue`).
    public var undeliveredCount: Int { tracker.state.withLock { $0.failedWithoutWaiter } }

    /// Produces `message` and waits for the broker to acknowledge it (all in-sync replicas).
    public func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        try await send(contentsOf: [message])[0]
    }

    /// Produces `messages` in order and waits until the broker acknowledged all of them.
    /// Messages for one partition keep their order (the producer is idempotent).
    public func send(contentsOf messages: [KafkaProducerMessage]) async throws -> [KafkaDeliveryReport] {
        let tokens: [UInt] = try tracker.state.withLock { state throws(KafkaError) in
            guard acceptsMessages else { throw KafkaError.shutdown }
            return messages.map { _ in
                let token = state.nextToken
                state.nextToken &+= 1
                state.pending[token] = .produced
                return token
            }
        }
        do {
            for (message, token) in zip(messages, tokens) {
                try await produce(message, token: token)
            }
        } catch {
            // Reports for what was produced are dropped when they arrive.
            tracker.state.withLock { state in tokens.forEach { state.pending.removeValue(forKey: $0) } }
            throw error
        }
        var reports: [KafkaDeliveryReport] = []
        reports.reserveCapacity(tokens.count)
        for token in tokens {
            reports.append(try await report(for: token))
        }
        return reports
    }

    private func report(for token: UInt) async throws -> KafkaDeliveryReport {
        try await withCheckedThrowingContinuation { continuation in
            let early: Result<KafkaDeliveryReport, KafkaError>? = tracker.state.withLock { state in
                switch state.pending[token] {
                case .delivered(let result):
                    state.pending.removeValue(forKey: token)
                    return result
                case .produced, .waiting:
                    state.pending[token] = .waiting(continuation)
                    return nil
                case nil:
                    return .failure(KafkaError.shutdown)
                }
            }
            if let early { continuation.resume(with: early.mapError { $0 as any Error }) }
        }
    }

    /// Produces `message` without waiting for its delivery report. Returns once librdkafka
    /// has queued it (waiting while its queue is full). A failed delivery is logged and counted
    /// in `undeliveredCount`; `flush()` waits for all of them.
    public func enqueue(_ message: KafkaProducerMessage) async throws(KafkaError) {
        try await produce(message, token: 0)
    }

    private func produce(_ message: KafkaProducerMessage, token: UInt) async throws(KafkaError) {
        let start = ContinuousClock.now
        while true {
            guard acceptsMessages else { throw KafkaError.shutdown }
            guard let error = client.produce(message, token: token) else {
                KafkaDoorbell.process.ring()
                return
            }
            // librdkafka already holds `maxQueuedMessages`: wait for deliveries to make room.
            guard error.isQueueFull,
                  ContinuousClock.now - start < configuration.deliveryTimeout
            else { throw error }
            do { try await Task.sleep(for: .milliseconds(1)) } catch { throw KafkaError.shutdown }
        }
    }

    /// Waits until every message produced so far has its delivery report.
    public func flush() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let immediate: Bool = tracker.state.withLock { state in
                if client.outQueueLength == 0 { return true }
                state.flushWaiters.append(continuation)
                return false
            }
            if immediate { continuation.resume() } else { client.wakeUp() }
        }
    }

    /// Checks that a broker answers within `timeout`; throws a `.connection` error naming the brokers otherwise.
    public func checkConnection(timeout: Duration) async throws(KafkaError) -> KafkaClusterMetadata {
        try await client.checkConnection(servers: configuration.client.bootstrapServers.joined(separator: ","), timeout: timeout)
    }

    /// Fetches the metadata of `topics` ahead of the first message to them (otherwise the
    /// first send to each topic waits for librdkafka to learn its partitions and leaders).
    public func prepare(topics: [String], timeout: Duration) async throws(KafkaError) {
        let client = self.client
        try await DedicatedThread.perform { () throws(KafkaError) in
            try client.knowTopics(topics, timeoutMilliseconds: Int32(clamping: timeout.wholeMilliseconds))
        }
    }

    public func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await DedicatedThread.run(name: "kafka-producer-poll") { [self] in
                pollUntilStopped()
            }
        } onCancelOrGracefulShutdown: { [self] in
            if lifecycle.withLock({ $0.stop() }) == .wakeUpPoller { client.wakeUp() }
        }
    }

    private var acceptsMessages: Bool { lifecycle.withLock { $0.acceptsMessages } }

    // MARK: - Poll thread

    private func pollUntilStopped() {
        while lifecycle.withLock({ $0.keepsPolling }) {
            client.poll(timeoutMilliseconds: 10)
            resumeFlushWaitersIfDrained()
        }
        // Shutting down: no new messages; wait for the outstanding ones.
        lifecycle.withLock { $0.flushing() }
        if !client.flush(timeoutMilliseconds: Int32(clamping: configuration.shutdownFlushTimeout.wholeMilliseconds)) {
            logger.error("Kafka producer shut down with messages undelivered", metadata: [KafkaLogKey.undelivered: "\(client.outQueueLength)"])
        }
        lifecycle.withLock { $0.closed() }
        let (pending, waiters) = tracker.state.withLock { state in
            let waiting = state.pending.values.compactMap { pending -> CheckedContinuation<KafkaDeliveryReport, any Error>? in
                if case .waiting(let continuation) = pending { return continuation }
                return nil
            }
            let result = (waiting, state.flushWaiters)
            state.pending.removeAll()
            state.flushWaiters.removeAll()
            return result
        }
        pending.forEach { $0.resume(throwing: KafkaError.shutdown) }
        waiters.forEach { $0.resume(throwing: KafkaError.shutdown) }
    }

    private func resumeFlushWaitersIfDrained() {
        let waiters: [CheckedContinuation<Void, any Error>] = tracker.state.withLock { state in
            guard !state.flushWaiters.isEmpty, client.outQueueLength == 0 else { return [] }
            defer { state.flushWaiters.removeAll() }
            return state.flushWaiters
        }
        waiters.forEach { $0.resume() }
    }
}

extension KafkaProducer {
    /// The producer's lifecycle in one place: running; stopping (the poll thread was asked
    /// to end); flushing (no new message accepted, the outstanding ones delivered); closed.
    struct StateMachine {
        enum State: Equatable {
            case running
            case stopping
            case flushing
            case closed
        }

        enum StopAction: Equatable {
            case wakeUpPoller
            case none
        }

        private(set) var state: State = .running

        mutating func stop() -> StopAction {
            guard state == .running else { return .none }
            state = .stopping
            return .wakeUpPoller
        }

        var keepsPolling: Bool { state == .running }
        /// Messages are accepted until the final flush begins.
        var acceptsMessages: Bool { state == .running || state == .stopping }

        mutating func flushing() { state = .flushing }
        mutating func closed() { state = .closed }
    }
}

/// Outstanding deliveries and flush waiters, shared by the producer and librdkafka's
/// delivery callback (which runs on the poll thread).
private final class DeliveryTracker: Sendable {
    let state = Mutex(KafkaProducer.State())
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func delivered(token: UInt, result: Result<KafkaDeliveryReport, KafkaError>) {
        if token == 0 {
            if case .failure(let error) = result {
                state.withLock { $0.failedWithoutWaiter += 1 }
                logger.error("Kafka delivery failed", metadata: [KafkaLogKey.error: "\(error)"])
            }
            return
        }
        let continuation: CheckedContinuation<KafkaDeliveryReport, any Error>? = state.withLock { state in
            switch state.pending[token] {
            case .waiting(let continuation):
                state.pending.removeValue(forKey: token)
                return continuation
            case .produced:
                state.pending[token] = .delivered(result)
                return nil
            case .delivered, nil:
                return nil
            }
        }
        continuation?.resume(with: result.mapError { $0 as any Error })
    }
}
