import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A Kafka consumer with at-least-once delivery.
///
/// Read `messages`, handle each one, then `commit(_:)` it: the offset is stored and
/// committed in the background (at most one commit per `commitInterval`), committed
/// synchronously before partitions are revoked in a rebalance, and once more when the
/// consumer stops.
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
    private let lifecycle = Mutex(StateMachine())
    /// The idle back-off, when configured (`backsOff`); every pause and resume goes through it then.
    private let doze: Mutex<FetchDoze?>
    private let backsOff: Bool
    /// Partitions were resumed (by the back-off or the application): the poll thread
    /// nudges the broker thread to fetch them (see `RDKafkaClient.nudgeFetchers`).
    private let nudgeWanted = Atomic<Bool>(false)

    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        let group = GroupState(commitInterval: configuration.commitInterval, logger: logger)
        let callbacks = RDKafkaCallbacks(
            logger: logger,
            onRebalance: { change in group.rebalance(change) },
            onCommit: { error in group.commitFinished(error) }
        )
        let client = try RDKafkaClient(kind: .consumer, properties: configuration.librdkafkaProperties, callbacks: callbacks, logger: logger)
        group.attach(client)
        client.serveCallbacksFromConsumerQueue()

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
            try client.subscribe(topics)
        case .assign(let partitions):
            try client.assign(partitions)
            group.setAssignment(Set(partitions.map { KafkaTopicPartition(topic: $0.topic, partition: $0.partition) }))
        }

        self.client = client
        self.group = group
        self.signals = signals
        self.source = sequence.source
        self.messages = KafkaConsumerMessages(backing: sequence.sequence)
        self.configuration = configuration
        self.logger = logger
        self.doze = Mutex(configuration.idleBackoff.map { FetchDoze(settings: $0, now: .now) })
        self.backsOff = configuration.idleBackoff != nil
    }

    /// The partitions this consumer owns right now (start offsets omitted).
    public var assignment: Set<KafkaTopicPartition> { group.assignment }

    /// Marks `message` handled: its offset is stored and committed in the background.
    ///
    /// Returns `false` when the message's partition is no longer assigned to this
    /// consumer (it was revoked in a rebalance); its new owner will read it again.
    @discardableResult
    public func commit(_ message: KafkaConsumerMessage) -> Bool {
        switch client.storeOffset(topic: message.topic, partition: message.partition, next: message.offset + 1) {
        case .success:
            group.requestCommit()
            return true
        case .failure(let error):
            logger.debug("offset not stored", metadata: [KafkaLogKey.error: "\(error)"])
            return false
        }
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
        guard backsOff else { return apply(.pause(Set(partitions))) }
        stepDoze { doze, _, _ in doze.applicationPaused(Set(partitions)) }
    }

    /// Fetches `partitions` again after `pause(_:)`, at once: the poll thread nudges the
    /// broker thread (`RDKafkaClient.nudgeFetchers`), which would otherwise fetch them only
    /// when it next wakes on its own, up to a second later. Without the nudge a consumer
    /// whose only busy partition its application had paused (the orchestrator's replies,
    /// above 64 orders in flight) waited about a second after every resume.
    public func resume(_ partitions: [KafkaTopicPartition]) {
        guard !partitions.isEmpty else { return }
        if backsOff {
            stepDoze { doze, now, assignment in doze.applicationResumed(Set(partitions), at: now, assignment: assignment) }
        } else {
            apply(.resume(Set(partitions)))
        }
        nudgeWanted.store(true, ordering: .releasing)
        client.wakeUpConsumer()
    }

    /// Whether the consumer has stopped fetching because it was quiet (see
    /// `KafkaConsumerConfiguration.idleBackoff`).
    public var isDozing: Bool { backsOff && doze.withLock { $0?.dozing ?? false } }

    // MARK: - Idle back-off

    /// Runs one step of the idle back-off under its lock, makes the pause or resume call it
    /// returns, and tells the process's doorbell whether this consumer sleeps. Returns how
    /// long until the back-off's next look (nil without a back-off).
    @discardableResult
    private func stepDoze(_ step: (inout FetchDoze, ContinuousClock.Instant, Set<KafkaTopicPartition>) -> FetchDoze.Action?) -> Duration? {
        guard backsOff else { return nil }
        let assignment = group.assignment
        return doze.withLock { state in
            guard var doze = state.take() else { return nil }
            defer { state = doze }
            let now = ContinuousClock.now
            let wasDozing = doze.dozing
            if let action = step(&doze, now, assignment) {
                apply(action)
                if case .resume = action, wasDozing {
                    nudgeWanted.store(true, ordering: .releasing)
                    client.wakeUpConsumer()
                }
            }
            if doze.dozing, !wasDozing {
                KafkaDoorbell.process.sleep(ObjectIdentifier(self)) { [weak self] in self?.doorbellRang() }
            } else if wasDozing, !doze.dozing {
                KafkaDoorbell.process.awake(ObjectIdentifier(self))
            }
            return doze.delay(at: now)
        }
    }

    private func doorbellRang() {
        stepDoze { doze, now, assignment in doze.rung(at: now, assignment: assignment) }
    }

    private func apply(_ action: FetchDoze.Action) {
        switch action {
        case .pause(let partitions):
            guard let error = client.pause(Array(partitions)) else { return }
            logger.debug("pause failed", metadata: [KafkaLogKey.error: "\(error)"])
        case .resume(let partitions):
            guard let error = client.resume(Array(partitions)) else { return }
            logger.debug("resume failed", metadata: [KafkaLogKey.error: "\(error)"])
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

    private func requestStop(_ mode: StateMachine.StopMode) {
        switch lifecycle.withLock({ $0.stop(mode) }) {
        case .wakeUpPoller:
            client.wakeUpConsumer()
            signals.demandArrived()
        case .none:
            break
        }
    }

    private var keepsPolling: Bool { lifecycle.withLock { $0.keepsPolling } }

    // MARK: - Poll thread

    /// Waits for a record, then takes what librdkafka already holds without waiting (up to
    /// `bufferCapacity`) and hands them over in one go: under load a fetch brings several
    /// records, and the application is woken once per burst rather than once per record.
    private func pollUntilStopped() {
        var failure: KafkaError?
        var burst: [KafkaConsumerMessage] = []
        let limit = max(configuration.bufferCapacity, 1)
        burst.reserveCapacity(limit)
        polling: while keepsPolling {
            burst.removeAll(keepingCapacity: true)
            // A commit held back by the commit interval is begun here once it is due; the
            // wait for records ends in time for it.
            let commitDelay = group.commitIfDue()
            // The idle back-off dozes or peeks when its time has come.
            let dozeDelay = stepDoze { doze, now, assignment in doze.tick(at: now, assignment: assignment) }
            let wait = [commitDelay, dozeDelay].compactMap(\.self).min() ?? .milliseconds(100)
            var timeout = Int32(clamping: min(max(wait.wholeMilliseconds, 1), 100))
            if nudgeWanted.exchange(false, ordering: .acquiringAndReleasing), let error = client.nudgeFetchers(timeoutMilliseconds: 500) {
                logger.debug("fetch nudge failed", metadata: [KafkaLogKey.error: "\(error)"])
            }
            draining: while burst.count < limit {
                let result = client.consumerPoll(timeoutMilliseconds: timeout)
                timeout = 0
                switch result {
                case nil:
                    break draining
                case .endOfPartition:
                    continue
                case .error(let error, let fatal):
                    if fatal {
                        // What this burst holds is not handed out: it is not committed, so
                        // the group reads it again after the restart.
                        logger.error("Kafka consumer failed", metadata: [KafkaLogKey.error: "\(error)"])
                        failure = error
                        break polling
                    }
                    logger.warning("Kafka consumer error", metadata: [KafkaLogKey.error: "\(error)"])
                case .message(let message):
                    burst.append(message)
                }
            }
            guard !burst.isEmpty else { continue }
            stepDoze { doze, now, assignment in doze.active(at: now, assignment: assignment) }
            // Records fetched after a stop request are not handed out: they are not
            // committed, so the group reads them again after the restart.
            guard keepsPolling else { break polling }
            let epoch = signals.epoch
            switch source.yield(contentsOf: burst) {
            case .produceMore:
                continue
            case .stopProducing:
                // The application is behind: wait for it before fetching more.
                while keepsPolling, !signals.waitForDemand(after: epoch, timeout: 0.1) {}
                // Waiting for the application is not being quiet.
                stepDoze { doze, now, assignment in doze.active(at: now, assignment: assignment) }
            case .dropped:
                // Nobody iterates `messages` any more.
                requestStop(.immediate)
            }
        }
        close(failure: failure)
    }

    private func close(failure: KafkaError?) {
        let action = lifecycle.withLock { $0.pollingEnded(failed: failure != nil) }
        if let failure {
            source.finish(failure)
        } else {
            source.finish()
        }
        if action == .drainThenClose {
            let drained = signals.waitForTermination(timeout: Double(configuration.shutdownDrainTimeout.wholeMilliseconds) / 1000)
            if !drained {
                logger.warning("Kafka consumer stopped before the application handled every fetched message; they will be read again")
            }
        }
        group.commitSync()
        if let error = client.closeConsumer() {
            logger.warning("Kafka consumer close failed", metadata: [KafkaLogKey.error: "\(error)"])
        }
    }
}

extension KafkaConsumer {
    /// The consumer's lifecycle in one place: running, stopping (gracefully, draining what
    /// the application took; or at once), closed. Each event returns what to do.
    struct StateMachine {
        enum StopMode: Equatable {
            case graceful
            case immediate
        }

        enum State: Equatable {
            case running
            case stopping(StopMode)
            case closed
        }

        enum StopAction: Equatable {
            /// Interrupt the poll thread so it sees the request at once.
            case wakeUpPoller
            case none
        }

        enum CloseAction: Equatable {
            /// Wait (bounded) for the application to finish what it took, then commit and leave.
            case drainThenClose
            /// Commit what was handled and leave now.
            case close
        }

        private(set) var state: State = .running

        /// A stop request; an immediate stop overrides a graceful one in progress.
        mutating func stop(_ mode: StopMode) -> StopAction {
            switch state {
            case .running:
                state = .stopping(mode)
                return .wakeUpPoller
            case .stopping(.graceful) where mode == .immediate:
                state = .stopping(.immediate)
                return .wakeUpPoller
            case .stopping, .closed:
                return .none
            }
        }

        /// Whether the poll thread goes on fetching.
        var keepsPolling: Bool { state == .running }

        /// The poll loop ended (stop requested, or a fatal error).
        mutating func pollingEnded(failed: Bool) -> CloseAction {
            defer { state = .closed }
            if case .stopping(.graceful) = state, !failed { return .drainThenClose }
            return .close
        }
    }
}
