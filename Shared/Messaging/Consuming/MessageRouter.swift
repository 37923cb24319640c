/// Maps `message-type` values to typed handlers.
///
/// Routing is two-phase so that the consumer can tell a malformed body (dead letter at
/// once) from a handler failure (retry): `prepare` decodes, the returned closure handles.
public struct MessageRouter: Sendable {
    public typealias Prepared = @Sendable () async throws -> Void
    private var routes: [String: @Sendable (Envelope) throws -> Prepared] = [:]

    public init() {}

    /// Routes messages of type `M` to `handler`. A later registration for the same type replaces the earlier one.
    public mutating func on<M: MessageContract>(_ type: M.Type, _ handler: @escaping @Sendable (M, Envelope) async throws -> Void) {
        routes[M.messageType] = { envelope in
            let message = try envelope.decode(M.self)
            return { try await handler(message, envelope) }
        }
    }

    /// Routes messages of `messageType` to `handler`, which decodes the body itself.
    public mutating func on(messageType: String, _ handler: @escaping @Sendable (Envelope) async throws -> Void) {
        routes[messageType] = { envelope in { try await handler(envelope) } }
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
