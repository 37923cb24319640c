/// Thrown by a participant's command handler that refuses the command for good.
///
/// `ParticipantContext.handle` turns it into a `participant.command-rejected.v1` reply
/// (recorded in the inbox, so a redelivered command gets the same answer), so the sender
/// is told at once instead of waiting for a timeout:
/// - `refused`: a valid command the current state does not allow (capturing a payment
///   that was never authorized); answered, nothing else.
/// - `invalid`: a command that breaks its contract (a negative amount); answered, and
///   also dead-lettered for a person to look at.
public struct CommandRefused: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        case refused
        case invalid
    }

    public let kind: Kind
    public let reason: String

    public static func refused(_ reason: String) -> CommandRefused { CommandRefused(kind: .refused, reason: reason) }
    public static func invalid(_ reason: String) -> CommandRefused { CommandRefused(kind: .invalid, reason: reason) }

    public var description: String { reason }
}
