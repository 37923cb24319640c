import Contracts
import Logging
import Messaging
import SQLKit
import Storage

/// What a participant's reaction to an event decided: the events it publishes (each must
/// be one its declaration in `ChoreographyCatalog` lists).
public typealias ReactionOutcome = [any Event]

extension CommandOutcome {
    /// The events of a command handler's outcome, for a reaction that reuses the handler.
    public var published: ReactionOutcome { events.compactMap { $0 as? any Event } }
}

extension ParticipantContext {
    /// Registers the reaction to `E` that this service declares in `ChoreographyCatalog`,
    /// with the same exactly-once effects as a command handler (inbox and outbox in one
    /// transaction). It runs only for messages of a choreographed checkout (the envelope's
    /// `flow`); an orchestrated order's events pass by.
    public func react<E: Event>(
        _ type: E.Type,
        in router: inout MessageRouter,
        _ logic: @escaping @Sendable (E, Envelope, any SQLDatabase) async throws -> ReactionOutcome
    ) {
        react(type, in: &router, prepare: { _, _ in () as Void? }) { event, envelope, _, sql in
            try await logic(event, envelope, sql)
        }
    }

    /// Like `react(_:in:_:)`, with a `prepare` step outside the transaction for slow work
    /// (a call to a payment processor); it is skipped for an event the inbox already holds.
    public func react<E: Event, Prepared: Sendable>(
        _ type: E.Type,
        in router: inout MessageRouter,
        prepare: @escaping @Sendable (E, Envelope) async throws -> Prepared?,
        _ logic: @escaping @Sendable (E, Envelope, Prepared?, any SQLDatabase) async throws -> ReactionOutcome
    ) {
        guard let declared = ChoreographyCatalog.reaction(of: name, to: E.self) else {
            preconditionFailure("\(name) reacts to \(E.messageType) without declaring it in ChoreographyCatalog")
        }
        let allowed = Set(declared.emits.map { $0.messageType })
        let executor = self.executor
        let database = self.database
        let service = self.name
        // The flow is checked before the body is decoded: most events on these topics
        // belong to orchestrated orders and are passed over.
        router.on(messageType: E.messageType, inFlow: ChoreographyCatalog.flow) { envelope in
            let event: E
            do {
                event = try envelope.decode(E.self)
            } catch {
                throw MessageRejection("\(error)")
            }
            let seen = try await database.read { try await Inbox.replies(for: envelope.messageID, in: $0) != nil }
            let prepared = seen ? nil : try await prepare(event, envelope)
            try await executor.execute(event, envelope: envelope) { event, sql in
                let emitted = try await logic(event, envelope, prepared, sql)
                if let stray = emitted.first(where: { !allowed.contains(Swift.type(of: $0).messageType) }) {
                    throw MessageRejection("\(service) may not publish \(Swift.type(of: stray).messageType) in reaction to \(E.messageType); declare it in ChoreographyCatalog")
                }
                return CommandOutcome(events: emitted)
            }
        }
    }
}

extension MessageRouter {
    /// Lets every known event of `sources` that has no handler pass without effect: a
    /// consumer of shared `*.events` topics meets many events it does not react to. An
    /// unknown `message-type` still goes to the dead-letter topic.
    public mutating func passOtherEvents(from sources: [ServiceName]) {
        let handled = messageTypes
        for type in EventCatalog.all where sources.contains(type.source) && !handled.contains(type.messageType) {
            pass(messageType: type.messageType)
        }
    }
}
