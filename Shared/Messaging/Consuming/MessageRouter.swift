/// Maps `message-type` values to typed handlers.
///
/// Routing is two-phase so that the consumer can tell a malformed body (dead letter at
/// once) from a handler failure (retry): `prepare` decodes, the returned closure handles.
public struct MessageRouter: Sendable {
    public typealias Prepared = @Sendable () async throws -> Void
    private var routes: [String: @Sendable (Envelope) throws -> Prepared] = [:]
    /// Which records of a type are handled when not all are.
    private enum Restriction: Sendable {
        /// Only those whose `flow` header is this.
        case flow(String)
        /// None: every record of the type passes by.
        case nothing
    }

    /// Message types handled only in one flow, or never. A record of such a type that its
    /// restriction leaves out is passed by on its headers alone.
    private var restrictions: [String: Restriction] = [:]

    public init() {}

    /// Routes messages of type `M` to `handler`. A later registration for the same type replaces the earlier one.
    public mutating func on<M: MessageContract>(_ type: M.Type, _ handler: @escaping @Sendable (M, Envelope) async throws -> Void) {
        restrictions[M.messageType] = nil
        routes[M.messageType] = { envelope in
            let message = try envelope.decode(M.self)
            return { try await handler(message, envelope) }
        }
    }

    /// Routes messages of `messageType` to `handler`, which decodes the body itself.
    public mutating func on(messageType: String, _ handler: @escaping @Sendable (Envelope) async throws -> Void) {
        restrictions[messageType] = nil
        routes[messageType] = { envelope in { try await handler(envelope) } }
    }

    /// Routes messages of `messageType` that carry the `flow` header `flow` to `handler`;
    /// the others of that type pass by without effect, and without their envelope being read
    /// (`passes(messageType:flow:)`): a consumer of a shared topic that cares for one flow
    /// pays almost nothing for the rest.
    public mutating func on(messageType: String, inFlow flow: String, _ handler: @escaping @Sendable (Envelope) async throws -> Void) {
        on(messageType: messageType) { envelope in
            guard envelope.flow == flow else { return }
            try await handler(envelope)
        }
        restrictions[messageType] = .flow(flow)
    }

    /// Lets every message of `messageType` pass by without effect, on its headers alone.
    public mutating func pass(messageType: String) {
        on(messageType: messageType) { _ in }
        restrictions[messageType] = .nothing
    }

    /// Whether a record with these headers passes by without effect: its type is one this
    /// router handles only in another flow, or never. The consumer then commits it without
    /// reading its envelope (an unknown type, or one this router handles, is read in full).
    public func passes(messageType: String, flow: String?) -> Bool {
        switch restrictions[messageType] {
        case nil: false
        case .flow(let needed): flow != needed
        case .nothing: true
        }
    }

    /// The message types this router handles.
    public var messageTypes: Set<String> { Set(routes.keys) }

    /// Decodes `envelope` for its handler. Throws `.unknownMessageType` or `.malformedBody`.
    public func prepare(_ envelope: Envelope) throws(MessagingError) -> Prepared {
        guard let route = routes[envelope.messageType] else {
            throw MessagingError(code: .unknownMessageType, message: "no handler for message type '\(envelope.messageType)'")
        }
        do {
            return try route(envelope)
        } catch let error as MessagingError {
            throw error
        } catch {
            throw MessagingError(code: .malformedBody, message: "\(envelope.messageType): \(error)")
        }
    }
}
