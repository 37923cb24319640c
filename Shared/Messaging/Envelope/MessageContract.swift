/// A versioned message: a command, a reply or an event.
///
/// `messageType` is the `message-type` header, e.g. `payment.authorize.v1` for a command
/// or `payment.authorized.v1` for an event. A new incompatible shape gets a new version;
/// decoders ignore unknown fields, so optional fields can be added within a version.
public protocol MessageContract: Codable, Sendable {
    static var messageType: String { get }
}
