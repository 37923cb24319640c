import Messaging

/// Reply from any participant: the command failed for a technical reason (an injected
/// fault, a dependency down) and may succeed if sent again.
public struct CommandFailed: MessageContract, Hashable {
    public static let messageType = "participant.command-failed.v1"
    public var service: ServiceName
    public var commandType: String
    public var reason: String
    public var retriable: Bool

    public init(service: ServiceName, commandType: String, reason: String, retriable: Bool = true) {
        self.service = service
        self.commandType = commandType
        self.reason = reason
        self.retriable = retriable
    }
}
