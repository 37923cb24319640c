import Contracts
import Hummingbird
import Logging
import Messaging
import ServiceLifecycle
import SQLKit
import Storage

/// A participant service (payment, inventory, shipping, profile): its schema, its command
/// handlers, its HTTP routes and its demo data. It is a `HostedService` whose assembly is
/// always the same: a command executor, the demo data, one consumer of `<name>.commands`
/// (answering on each command's `reply-to` and publishing to `<name>.events`) and of the
/// event topics it reacts to in the choreographed checkout, its routes.
public protocol Participant: HostedService where Handle == ParticipantContext {
    /// Registers one handler per command type, through `context.handle`.
    func commands(_ context: ParticipantContext, router: inout MessageRouter)
    /// Registers one handler per event the service reacts to in the choreographed
    /// checkout, through `context.react`, as `ChoreographyCatalog` declares them.
    func reactions(_ context: ParticipantContext, router: inout MessageRouter)
    /// Background work that runs with the service (shipping's deadline timer).
    func background(_ context: ParticipantContext) -> [any Service]
    /// Adds the service's read (and admin) endpoints, each with the scope it needs.
    func routes(_ context: ParticipantContext, routes: ServiceRoutes)
    /// The OpenAPI document of those routes, served at `/openapi.yaml`.
    var document: APIDocument { get }
    /// Inserts the demo data when the database is new; does nothing otherwise.
    func seed(_ context: ParticipantContext) async throws
}

extension Participant {
    public func reactions(_ context: ParticipantContext, router: inout MessageRouter) {}
    public func background(_ context: ParticipantContext) -> [any Service] { [] }

    public func assemble(on host: ServiceHost) async throws -> ParticipantContext {
        let faults = host.faults
        let executor = CommandExecutor(
            database: host.database, relay: host.relay, eventsTopic: host.topics.events(name),
            flowEventsTopics: [ChoreographyCatalog.flow: host.topics.choreographyEvents(name)],
            onCommitted: { try await faults.committedOne() }
        )
        let context = ParticipantContext(name: name, database: host.database, executor: executor, faults: faults, logger: host.logger)
        try await seed(context)
        // One consumer group for the commands and the choreography's events: each group
        // costs the broker a fetch every `fetch.wait.max.ms` whether or not anything comes
        // (Docs/performance.md), and the two kinds of record live on different partitions,
        // so they are still handled side by side. The choreography's events have topics of
        // their own, so an orchestrated order's events are not fetched here at all.
        var router = MessageRouter()
        self.commands(context, router: &router)
        var topics = [host.topics.commands(name)]
        if host.settings.choreography {
            let commandTypes = router.messageTypes
            self.reactions(context, router: &router)
            if router.messageTypes != commandTypes {
                let sources = ChoreographyCatalog.sources(of: name)
                router.passOtherEvents(from: sources)
                topics += sources.map(host.topics.choreographyEvents)
            }
        }
        host.consume(Subscription(groupID: host.topics.group("ensemble-\(name)"), topics: topics), router: router)
        if host.settings.choreography {
            for service in background(context) { host.add(service) }
        }
        routes(context, routes: host.routes)
        host.routes.serve(document)
        return context
    }
}

/// What a participant's handlers and routes work with.
public struct ParticipantContext: Sendable {
    public let name: ServiceName
    public let database: any Database
    public let executor: CommandExecutor
    public let faults: FaultInjector
    public let logger: Logger

    public init(name: ServiceName, database: any Database, executor: CommandExecutor, faults: FaultInjector, logger: Logger) {
        self.name = name
        self.database = database
        self.executor = executor
        self.faults = faults
        self.logger = logger
    }

    /// Registers a command handler with exactly-once effects (inbox and outbox in one
    /// transaction) and the configured fault injection.
    public func handle<C: MessageContract>(
        _ type: C.Type,
        in router: inout MessageRouter,
        _ logic: @escaping @Sendable (C, Envelope, any SQLDatabase) async throws -> CommandOutcome
    ) {
        register(type, in: &router) { command, envelope in
            try await executor.execute(command, envelope: envelope) { command, sql in
                try await logic(command, envelope, sql)
            }
        }
    }

    /// Like `handle(_:in:_:)`, with a `prepare` step that runs before the transaction, for
    /// slow work that must not hold the database (a call to a payment processor). It is
    /// skipped for a message the inbox already holds.
    public func handle<C: MessageContract, Prepared: Sendable>(
        _ type: C.Type,
        in router: inout MessageRouter,
        prepare: @escaping @Sendable (C, Envelope) async throws -> Prepared?,
        _ logic: @escaping @Sendable (C, Envelope, Prepared?, any SQLDatabase) async throws -> CommandOutcome
    ) {
        let executor = self.executor
        let database = self.database
        register(type, in: &router) { command, envelope in
            // The slow step is skipped for a message handled before; the transaction
            // checks the inbox again, so a race only costs a wasted call.
            let seen = try await database.read { try await Inbox.replies(for: envelope.messageID, in: $0) != nil }
            let prepared = seen ? nil : try await prepare(command, envelope)
            try await executor.execute(command, envelope: envelope) { command, sql in
                try await logic(command, envelope, prepared, sql)
            }
        }
    }

    /// Routes `C` through the fault injector: dropped, failed with a retriable
    /// `command-failed` reply, or handed to `proceed`; a `CommandRefused` from `proceed`
    /// becomes a `command-rejected` reply (and, when the command is invalid, a dead letter).
    private func register<C: MessageContract>(
        _ type: C.Type,
        in router: inout MessageRouter,
        proceed: @escaping @Sendable (C, Envelope) async throws -> Void
    ) {
        let executor = self.executor
        let faults = self.faults
        let service = self.name
        let logger = self.logger
        router.on(C.self) { command, envelope in
            switch await faults.decide(messageType: C.messageType) {
            case .drop:
                return
            case .fail(let reason):
                try await executor.execute(command, envelope: envelope) { _, _ in
                    CommandOutcome(reply: CommandFailed(service: service, commandType: C.messageType, reason: reason))
                }
            case .proceed:
                do {
                    try await proceed(command, envelope)
                } catch let refusal as CommandRefused {
                    logger.warning("command refused", metadata: [
                        LogKey.messageType: "\(C.messageType)", LogKey.orderID: "\(envelope.correlationID)", LogKey.reason: "\(refusal.reason)",
                    ])
                    try await executor.execute(command, envelope: envelope) { _, _ in
                        CommandOutcome(reply: CommandRejected(service: service, commandType: C.messageType, reason: refusal.reason))
                    }
                    if refusal.kind == .invalid { throw MessageRejection(refusal.reason) }
                }
            }
        }
    }
}
