import Messaging

/// A command: sent to one participant's `<service>.commands` topic, answered on its
/// `reply-to`.
public protocol Command: MessageContract {
    /// The participant that handles it.
    static var service: ServiceName { get }
    /// Whether its effect must be undone if a later step of a saga fails (reserving
    /// stock, authorizing a payment, scheduling a shipment): a saga step sending it
    /// before the pivot needs a compensation.
    static var changesState: Bool { get }
}

/// An event: published by one context on `<source>.events`. A participant's replies are
/// published as events too.
public protocol Event: MessageContract {
    static var source: ServiceName { get }
}

extension TopicNames {
    /// The topic a command of type `C` is sent to.
    public func topic<C: Command>(for command: C.Type) -> String { commands(C.service) }

    /// The topic an event of type `E` is published on.
    public func topic<E: Event>(for event: E.Type) -> String { events(E.source) }
}
