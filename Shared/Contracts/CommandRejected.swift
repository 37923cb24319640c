import Messaging

/// Reply from any participant: the command was read and understood, and refused for good
/// (the state does not allow it, or a value breaks the contract). Sending it again cannot
/// help; the sender decides what to do (a saga compensates, or asks for attention).
/// Only a message that cannot be read at all goes to the dead-letter topic without one.
public struct CommandRejected: MessageContract, Hashable {
    public static let messageType = "participant.command-rejected.v1"
    public var service: ServiceName
    public var commandType: String
    public var reason: String

    public init(service: ServiceName, commandType: String, reason: String) {
        self.service = service
        self.commandType = commandType
        self.reason = reason
    }
}
