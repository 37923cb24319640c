import Contracts
import Foundation
import Logging
import Messaging
import Metrics
import SQLKit
import Storage
import Synchronization

/// Runs sagas durably: every input (an order, a reply, a timer) is applied in one database
/// transaction that stores the saga's new state, its history and the commands it sends
/// (outbox), so a crash at any point loses nothing and sends nothing twice.
public final class SagaRunner: Sendable {
    public let database: any Database
    public let engine: SagaEngine
    public let topics: TopicNames
    private let relay: OutboxRelay
    private let timers = WakeSignal()
    /// When the timer service wakes up by itself (nil while it is working): a change whose
    /// deadline is later than that needs no wake-up.
    private let timersWakeAt = Mutex<Date?>(nil)
    /// Running sagas' documents and the breakers' records as last read or written, so a
    /// transaction decodes only what another one changed (see `DocumentCache`).
    private let documents = DocumentCache<SagaInstance>()
    private let breakerDocuments = DocumentCache<BreakerRecord>(capacity: 256)
    private let definitions = Mutex<[String: SagaDefinition]>([:])
    private let now: @Sendable () -> Date
    private let logger: Logger

    public init(database: any Database, relay: OutboxRelay, engine: SagaEngine, topics: TopicNames = .standard, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.relay = relay
        self.engine = engine
        self.topics = topics
        self.logger = logger
        self.now = now
    }

    // MARK: Definitions

    /// Loads every stored definition, storing `builtIn` first if it is new.
    public func loadDefinitions(builtIn: [SagaDefinition]) async throws {
        let all = try await database.transaction { sql in
            for definition in builtIn { _ = try await SagaStore.saveDefinition(definition, in: sql) }
            return try await SagaStore.definitions(in: sql)
        }
        definitions.withLock { cache in
            for definition in all { cache[definition.key] = definition }
        }
    }

    /// Validates and stores a new version; running sagas keep the version they started with.
    public func importDefinition(_ definition: SagaDefinition) async throws -> Bool {
        try definition.validate(catalog: engine.catalog)
        let added = try await database.transaction { sql in try await SagaStore.saveDefinition(definition, in: sql) }
        if added { definitions.withLock { $0[definition.key] = definition } }
        return added
    }

    public var allDefinitions: [SagaDefinition] {
        definitions.withLock { Array($0.values) }.sorted { ($0.name, $0.version) < ($1.name, $1.version) }
    }

    public func definition(_ name: String, version: Int) -> SagaDefinition? {
        definitions.withLock { $0["\(name)@\(version)"] }
    }

    /// The newest version of `name`: new sagas start on it.
    public func latest(_ name: String) -> SagaDefinition? {
        allDefinitions.last { $0.name == name }
    }

    // MARK: Inputs

    /// Starts a checkout for `request`, in the caller's trace (`traceparent`) or a new one.
    /// With an idempotency key already used, returns the order it created and starts
    /// nothing (`created` is false).
    public func place(_ request: OrderRequest, idempotencyKey: String?, traceparent: String? = nil) async throws -> (orderID: String, created: Bool) {
        guard let definition = latest("checkout") else { throw SagaRunnerError.noDefinition("checkout") }
        let now = self.now()
        let orderID = OrderRequest.newOrderID()
        let data = try request.sagaData(orderID: orderID)
        let engine = self.engine
        let topics = self.topics
        let (documents, breakerDocuments) = (self.documents, self.breakerDocuments)
        let result = try await database.transaction { sql -> (String, Bool, [BreakerTransition], Date?) in
            if let key = idempotencyKey, let existing = try await SagaStore.order(forKey: key, in: sql) {
                return (existing, false, [], nil)
            }
            try await Self.loadBreakers(engine.breakers, in: sql, cache: breakerDocuments)
            var saga = SagaInstance(id: orderID, definition: definition, customerID: request.customerID, data: data, now: now)
            saga.traceparent = Envelope.continuing(traceparent)
            let commands = engine.start(&saga, definition, now: now)
            try await SagaStore.insert(saga, in: sql, cache: documents)
            if let key = idempotencyKey { try await SagaStore.remember(key: key, order: orderID, in: sql) }
            let placed = try Envelope(
                OrderPlaced(orderID: orderID, customerID: request.customerID, lines: request.lines, shipTo: request.shipTo),
                correlationID: orderID, traceparent: Envelope.childTraceparent(of: saga.traceparent)
            )
            let (breakerEvents, transitions) = try await Self.saveBreakers(engine.breakers, topics: topics, in: sql)
            try await Outbox.add([OutboxMessage(placed, topic: topics.events("orders"))] + (try Self.outbox(commands, saga: saga, topics: topics, causedBy: placed.messageID)) + breakerEvents, in: sql)
            return (orderID, true, transitions, saga.nextDeadline)
        }
        report(result.2)
        if result.1 {
            SagaMetrics.started()
            relay.wake()
            wakeTimers(for: result.3)
        }
        return (result.0, result.1)
    }

    /// Applies a participant's reply to its saga. A reply seen before changes nothing.
    public func handleReply(_ envelope: Envelope) async throws {
        guard let interpret = engine.catalog.replies[envelope.messageType] else {
            throw MessageRejection("the orchestrator does not know the reply type \(envelope.messageType)")
        }
        let outcome: CommandCatalog.Outcome
        do {
            outcome = try interpret(envelope)
        } catch {
            throw MessageRejection("\(envelope.messageType): \(MessageCoding.explain(error))")
        }
        guard let causation = envelope.causationID else {
            throw MessageRejection("reply \(envelope.messageType) has no causation-id")
        }
        let now = self.now()
        try await mutate(envelope.correlationID, inbox: envelope) { saga, definition in
            self.engine.reply(&saga, definition, causationID: causation, messageType: envelope.messageType, outcome: outcome, now: now)
        }
    }

    /// Run once at start-up: gives commands still awaiting replies a fresh timeout (see
    /// `SagaEngine.resume`). Returns how many unfinished sagas there are.
    @discardableResult
    public func resumeUnfinished() async throws -> Int {
        let now = self.now()
        let ids = try await database.read { sql in try await SagaStore.unfinished(in: sql) }
        for id in ids {
            try await mutate(id, inbox: nil) { saga, definition in
                self.engine.resume(&saga, definition, now: now)
                return []
            }
        }
        if !ids.isEmpty { logger.info("resuming unfinished sagas", metadata: ["count": "\(ids.count)"]) }
        return ids.count
    }

    /// Fires every timer (timeout, retry) that is due; returns how many sagas it looked at.
    @discardableResult
    public func runDueTimers() async throws -> Int {
        let now = self.now()
        let due = try await database.read { sql in try await SagaStore.due(at: now, limit: 200, in: sql) }
        for id in due {
            try await mutate(id, inbox: nil) { saga, definition in
                self.engine.tick(&saga, definition, now: now)
            }
        }
        return due.count
    }

    /// The earliest pending timer.
    public func earliestDeadline() async throws -> Date? {
        try await database.read { sql in try await SagaStore.earliestDeadline(in: sql) }
    }

    /// Wait for a timer, a new saga or a reply, at most `timeout`.
    public func waitForTimers(timeout: Duration) async {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        timersWakeAt.withLock { $0 = now().addingTimeInterval(seconds) }
        await timers.wait(timeout: timeout)
        timersWakeAt.withLock { $0 = nil }
    }

    /// Wakes the timer service, once the change committed, if `deadline` comes before it
    /// would wake by itself (or it is busy and might have read the deadlines already).
    private func wakeTimers(for deadline: Date?) {
        guard let deadline else { return }
        let needed = timersWakeAt.withLock { wakeAt in wakeAt.map { deadline < $0 } ?? true }
        guard needed else { return }
        let timers = self.timers
        database.afterCommit { timers.signal() }
    }

    /// The saga with its whole history.
    public func saga(_ id: String) async throws -> SagaInstance? {
        try await database.read { sql in try await SagaStore.sagaWithHistory(id, in: sql) }
    }

    /// A page of sagas, newest first, without their history.
    public func sagas(status: SagaStatus?, customer: String?, limit: Int, offset: Int) async throws -> [SagaInstance] {
        try await database.read { sql in try await SagaStore.list(status: status, customer: customer, limit: limit, offset: offset, in: sql) }
    }

    // MARK: -

    /// Drives an order that needs attention again (`POST /orders/{id}/retry`). Returns the
    /// saga after the change, or throws `SagaRunnerError.notFound` / `.notRetriable`.
    public func retry(_ id: String) async throws -> SagaInstance {
        let now = self.now()
        let engine = self.engine
        let result: Result<SagaInstance, SagaRunnerError> = try await change(id, inbox: nil, evenIfFinished: true) { saga, definition in
            guard let commands = engine.redrive(&saga, definition, now: now) else {
                return .failure(.notRetriable(id, saga.status))
            }
            return .success(commands)
        }
        let changed = try result.get()
        return try await saga(id) ?? changed
    }

    private func mutate(_ id: String, inbox envelope: Envelope?, _ change: @escaping @Sendable (inout SagaInstance, SagaDefinition) -> [OutgoingCommand]) async throws {
        _ = try await self.change(id, inbox: envelope, evenIfFinished: false) { saga, definition in
            .success(change(&saga, definition))
        }
    }

    /// Applies `change` to saga `id` in one transaction with the inbox record of
    /// `envelope`, the commands it sends, and the events it causes (the outcome when the
    /// saga finished, `order-stuck` for a step that just got stuck).
    private func change(
        _ id: String,
        inbox envelope: Envelope?,
        evenIfFinished: Bool,
        _ change: @escaping @Sendable (inout SagaInstance, SagaDefinition) -> Result<[OutgoingCommand], SagaRunnerError>
    ) async throws -> Result<SagaInstance, SagaRunnerError> {
        let topics = self.topics
        let logger = self.logger
        let (result, finished, stuck, transitions): (Result<SagaInstance, SagaRunnerError>, SagaInstance?, [StuckStep], [BreakerTransition]) = try await database.transaction { sql in
            if let envelope, try await !Inbox.recordIfNew(envelope, in: sql) { return (.failure(.notFound(id)), nil, [], []) }
            guard var saga = try await SagaStore.saga(id, in: sql, cache: self.documents) else {
                if envelope != nil { logger.warning("reply for an unknown saga ignored", metadata: [LogKey.orderID: "\(id)"]) }
                return (.failure(.notFound(id)), nil, [], [])
            }
            guard evenIfFinished || !saga.status.isFinished, let definition = self.definition(saga.definitionName, version: saga.definitionVersion) else {
                return (.failure(.notRetriable(id, saga.status)), nil, [], [])
            }
            let before = saga
            try await Self.loadBreakers(self.engine.breakers, in: sql, cache: self.breakerDocuments)
            let commands: [OutgoingCommand]
            switch change(&saga, definition) {
            case .success(let sent): commands = sent
            case .failure(let error): return (.failure(error), nil, [], [])
            }
            let (breakerEvents, transitions) = try await Self.saveBreakers(self.engine.breakers, topics: topics, in: sql)
            var messages = try Self.outbox(commands, saga: saga, topics: topics, causedBy: envelope?.messageID) + breakerEvents
            let stuck = definition.steps.compactMap { step -> StuckStep? in
                guard let state = saga.steps[step.id], let since = state.stuckSince, before.steps[step.id]?.stuckSince == nil else { return nil }
                let compensating = state.status == .compensating
                return StuckStep(step: step.id, command: (compensating ? step.compensation : nil) ?? step.command, since: since,
                                 attempts: state.attempts.filter { ($0.command == step.compensation) == compensating }.count,
                                 lastError: state.attempts.last?.result ?? "")
            }
            for entry in stuck {
                messages.append(OutboxMessage(try Envelope(OrderStuck(
                    orderID: saga.id, customerID: saga.customerID, step: entry.step, command: entry.command, attempts: entry.attempts,
                    since: MessageCoding.timestamp(entry.since), lastError: entry.lastError
                ), correlationID: saga.id, traceparent: Envelope.childTraceparent(of: saga.traceparent)), topic: topics.events("orders")))
            }
            if saga.status.isFinished && !before.status.isFinished {
                messages.append(OutboxMessage(try Self.outcomeEvent(saga, causedBy: envelope?.messageID), topic: topics.events("orders")))
            }
            try await SagaStore.update(saga, in: sql, cache: self.documents)
            try await Outbox.add(messages, in: sql)
            return (.success(saga), saga.status.isFinished && !before.status.isFinished ? saga : nil, stuck, transitions)
        }
        report(transitions)
        if let finished {
            SagaMetrics.finished(finished)
            if finished.status == .needsAttention {
                logger.error("saga needs attention", metadata: [LogKey.orderID: "\(finished.id)", "unfinished": "\(finished.attention ?? [])"])
            }
        }
        for entry in stuck {
            SagaMetrics.stuck(step: entry.step)
            logger.error("saga step stuck; still retrying", metadata: [
                LogKey.orderID: "\(id)", LogKey.step: "\(entry.step)", LogKey.command: "\(entry.command)", LogKey.attempts: "\(entry.attempts)", LogKey.error: "\(entry.lastError)",
            ])
        }
        relay.wake()
        if case .success(let saga) = result, !saga.status.isFinished { wakeTimers(for: saga.nextDeadline) }
        return result
    }

    // MARK: Circuit breakers

    /// Every route's breaker, from the database (`GET /breakers`).
    public func breakerRecords() async throws -> [BreakerRecord] {
        try await database.read { sql in try await BreakerStore.all(in: sql) }
    }

    /// Loads the breakers at start-up and sets their gauges.
    public func loadBreakers() async throws {
        let records = try await breakerRecords()
        engine.breakers.load(records)
        let now = self.now()
        for record in records { BreakerMetrics.state(record.route, record.state(at: now)) }
    }

    /// The working set, from the database: called at the start of each saga transaction.
    static func loadBreakers(_ breakers: CircuitBreakers, in sql: any SQLDatabase, cache: DocumentCache<BreakerRecord>? = nil) async throws {
        breakers.load(try await BreakerStore.all(in: sql, cache: cache))
    }

    /// Stores what changed in the working set, in the same transaction; returns the events
    /// for the state changes.
    static func saveBreakers(_ breakers: CircuitBreakers, topics: TopicNames, in sql: any SQLDatabase) async throws -> ([OutboxMessage], [BreakerTransition]) {
        let (records, transitions) = breakers.takeChanges()
        try await BreakerStore.save(records, in: sql)
        let trials = Dictionary(records.map { ($0.route, $0.trialAt) }, uniquingKeysWith: { $1 })
        let events = try transitions.map { transition in
            let event = CircuitChanged(
                route: transition.route, from: transition.from.rawValue, to: transition.to.rawValue, failures: transition.failures,
                nextTrialAt: transition.to == .open ? (trials[transition.route] ?? nil).map(MessageCoding.timestamp) : nil
            )
            return OutboxMessage(try Envelope(event, correlationID: transition.route), topic: topics.events("orchestrator"))
        }
        return (events, transitions)
    }

    /// Logs and meters breaker state changes, after their transaction committed.
    private func report(_ transitions: [BreakerTransition]) {
        for transition in transitions {
            BreakerMetrics.state(transition.route, transition.to)
            let metadata: Logger.Metadata = [
                LogKey.route: "\(transition.route)", "from": "\(transition.from.rawValue)", "to": "\(transition.to.rawValue)", "failures": "\(transition.failures)",
            ]
            if transition.to == .open {
                logger.warning("circuit opened", metadata: metadata)
            } else {
                logger.notice("circuit changed", metadata: metadata)
            }
        }
    }

    private struct StuckStep: Sendable {
        let step: String
        let command: String
        let since: Date
        let attempts: Int
        let lastError: String
    }

    /// The commands' messages; `causedBy` is the message (a reply, `order-placed`) that led
    /// to them, so a causal chain can be followed across the saga (timers have none).
    static func outbox(_ commands: [OutgoingCommand], saga: SagaInstance, topics: TopicNames, causedBy: UUID? = nil) throws -> [OutboxMessage] {
        try commands.map { command in
            let envelope = try Envelope(
                command.message, correlationID: saga.id, causationID: causedBy, replyTo: topics.orchestratorReplies,
                traceparent: Envelope.childTraceparent(of: saga.traceparent), key: saga.id, messageID: command.messageID
            )
            return OutboxMessage(envelope, topic: topics.commands(command.participant))
        }
    }

    static func outcomeEvent(_ saga: SagaInstance, causedBy: UUID? = nil) throws -> Envelope {
        let total = saga.data[path: "order.total"]?.string.flatMap(Money.init) ?? .zero
        let token = ConsistencyToken(orderID: saga.id, stage: .finished).text
        let trace = Envelope.childTraceparent(of: saga.traceparent)
        if saga.status == .completed {
            return try Envelope(OrderCompleted(orderID: saga.id, customerID: saga.customerID, total: total, consistencyToken: token), correlationID: saga.id, causationID: causedBy, traceparent: trace)
        }
        if saga.status == .needsAttention {
            return try Envelope(OrderNeedsAttention(orderID: saga.id, customerID: saga.customerID, reason: saga.failure ?? "a step was refused", unfinished: saga.attention ?? [], consistencyToken: token), correlationID: saga.id, causationID: causedBy, traceparent: trace)
        }
        return try Envelope(OrderFailed(orderID: saga.id, customerID: saga.customerID, status: saga.status.rawValue, reason: saga.failure ?? "unknown", consistencyToken: token), correlationID: saga.id, causationID: causedBy, traceparent: trace)
    }
}

public enum SagaRunnerError: Error, CustomStringConvertible {
    case noDefinition(String)
    case notFound(String)
    case notRetriable(String, SagaStatus)

    public var description: String {
        switch self {
        case .noDefinition(let name): "no saga definition named '\(name)' is loaded"
        case .notFound(let id): "order '\(id)' does not exist"
        case .notRetriable(let id, let status): "order '\(id)' is \(status.rawValue); only an order that needs attention can be retried"
        }
    }
}

/// The breaker gauge: `ensemble_circuit_state{route}` is 0 closed, 1 half-open, 2 open.
enum BreakerMetrics {
    static func state(_ route: String, _ state: BreakerRecord.State) {
        let value: Int = switch state {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        }
        Gauge(label: "ensemble_circuit_state", dimensions: [("route", route)]).record(value)
    }
}

/// Saga metrics: started, finished by status, and end-to-end duration.
enum SagaMetrics {
    static func started() {
        Counter(label: "ensemble_sagas_started_total").increment()
    }

    static func stuck(step: String) {
        Counter(label: "ensemble_saga_steps_stuck_total", dimensions: [("step", step)]).increment()
    }

    static func finished(_ saga: SagaInstance) {
        Counter(label: "ensemble_sagas_finished_total", dimensions: [("status", saga.status.rawValue)]).increment()
        if let finishedAt = saga.finishedAt {
            Metrics.Timer(label: "ensemble_saga_duration_seconds", dimensions: [("status", saga.status.rawValue)], preferredDisplayUnit: .seconds)
                .recordNanoseconds(Int64(finishedAt.timeIntervalSince(saga.createdAt) * 1_000_000_000))
        }
    }
}
