import Logging
import Messaging
import SQLKit

/// What a command handler decided: the reply to the sender, and events for everyone.
public struct CommandOutcome: Sendable {
    public var reply: (any MessageContract)?
    public var events: [any MessageContract]

    public init(reply: (any MessageContract)? = nil, events: [any MessageContract] = []) {
        self.reply = reply
        self.events = events
    }

    /// The common case: `message` is both the reply and the event.
    public static func replyAndPublish(_ message: some MessageContract) -> CommandOutcome {
        CommandOutcome(reply: message, events: [message])
    }
}

/// Runs a command handler with exactly-once effects.
///
/// In one transaction: if the message was handled before, its stored replies are queued
/// again and nothing else changes; otherwise the handler applies its change, and the
/// reply (to the command's `reply-to`) and the events (to `eventsTopic`, or to the topic
/// `flowEventsTopics` names for the envelope's `flow`) are stored in the
/// outbox and the inbox. After the commit the relay is woken. The consumer commits the
/// Kafka offset only after this returns.
public struct CommandExecutor: Sendable {
    public let database: any Database
    public let relay: OutboxRelay
    public let eventsTopic: String
    /// Where events of a flow go instead of `eventsTopic` (the choreographed checkout's
    /// events have topics of their own), by the envelope's `flow`.
    public let flowEventsTopics: [String: String]
    /// Runs after a new command's transaction committed and before the relay is woken
    /// (fault injection crashes the process or the service here).
    private let onCommitted: @Sendable () async throws -> Void

    public init(
        database: any Database, relay: OutboxRelay, eventsTopic: String, flowEventsTopics: [String: String] = [:],
        onCommitted: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.database = database
        self.relay = relay
        self.eventsTopic = eventsTopic
        self.flowEventsTopics = flowEventsTopics
        self.onCommitted = onCommitted
    }

    /// Returns whether the command was new (`false` for a duplicate).
    @discardableResult
    public func execute<C: MessageContract>(
        _ command: C,
        envelope: Envelope,
        _ handler: @escaping @Sendable (C, any SQLDatabase) async throws -> CommandOutcome
    ) async throws -> Bool {
        let eventsTopic = topic(forFlow: envelope.flow)
        let isNew = try await database.transaction { sql in
            if let replies = try await Inbox.replies(for: envelope.messageID, in: sql) {
                try await Outbox.add(replies, in: sql)
                return false
            }
            let outcome = try await handler(command, sql)
            var replies: [OutboxMessage] = []
            if let reply = outcome.reply, let replyTo = envelope.replyTo {
                replies.append(OutboxMessage(try envelope.reaction(reply), topic: replyTo))
            }
            let events = try outcome.events.map { OutboxMessage(try envelope.reaction($0), topic: eventsTopic) }
            try await Inbox.record(envelope, replies: replies, in: sql)
            try await Outbox.add(replies + events, in: sql)
            return true
        }
        if isNew { try await onCommitted() }
        relay.wake()
        return isNew
    }

    /// Runs a change that did not come from a message (an HTTP request, a timer), storing
    /// its events in the outbox in the same transaction, with `flow` in their envelopes.
    public func change<T: Sendable>(
        correlationID: @escaping @Sendable (T) -> String,
        flow: String? = nil,
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> (T, [any MessageContract])
    ) async throws -> T {
        try await change(correlationID: correlationID, flow: flow) { sql in
            let (result, events) = try await body(sql)
            return (result, events, nil)
        }
    }

    /// Like `change(correlationID:flow:_:)`, the events continuing the trace `body` names
    /// (`traceparent`; a new trace when nil).
    public func change<T: Sendable>(
        correlationID: @escaping @Sendable (T) -> String,
        flow: String? = nil,
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> (T, [any MessageContract], String?)
    ) async throws -> T {
        let eventsTopic = topic(forFlow: flow)
        let result = try await database.transaction { sql in
            let (result, events, trace) = try await body(sql)
            let correlation = correlationID(result)
            let messages = try events.map {
                OutboxMessage(try Envelope($0, correlationID: correlation, traceparent: Envelope.childTraceparent(of: trace), flow: flow), topic: eventsTopic)
            }
            try await Outbox.add(messages, in: sql)
            return result
        }
        relay.wake()
        return result
    }

    /// The topic of events whose envelope carries `flow`.
    public func topic(forFlow flow: String?) -> String {
        flow.flatMap { flowEventsTopics[$0] } ?? eventsTopic
    }
}
