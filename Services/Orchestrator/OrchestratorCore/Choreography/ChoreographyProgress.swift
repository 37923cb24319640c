import Contracts
import Foundation
import Messaging

/// Where a choreographed order stands, as its tracker sees it.
public enum ChoreographyStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case running
    /// A failure event arrived; the services that must answer with their compensation have
    /// not all answered yet.
    case compensating
    case completed
    /// Failed after a service had acted, and every one of them undid it.
    case compensated
    /// Failed before any service acted.
    case failed

    public var isFinished: Bool { self == .completed || self == .compensated || self == .failed }
}

/// The tracker's decision for one choreographed order, from the events it has seen, by
/// the rules `ChoreographyCatalog.completion` and `.outcome` declare. No service is asked
/// anything: the order is over when the events say so.
public struct ChoreographyProgress: Sendable, Hashable, Codable {
    public var status: ChoreographyStatus = .running
    /// The `message-type`s seen, in the order they arrived.
    public var seen: [String] = []
    /// The first failure's reason.
    public var failure: String?

    public init() {}

    /// What the order's outcome became with this event, if it just finished.
    public enum Finish: Sendable, Hashable {
        case completed
        case failed(status: ChoreographyStatus, reason: String)
    }

    /// Records `messageType` (with the failure `reason` its event gives) and returns the
    /// outcome when this event finished the order.
    public mutating func apply(_ messageType: String, reason: String? = nil) -> Finish? {
        if !seen.contains(messageType) { seen.append(messageType) }
        guard !status.isFinished else { return nil }
        if failure == nil, ChoreographyCatalog.outcome.contains(where: { $0.failure.messageType == messageType }) {
            failure = reason ?? messageType
            status = .compensating
        }
        if failure == nil {
            guard ChoreographyCatalog.completion.allSatisfy({ seen.contains($0.messageType) }) else { return nil }
            status = .completed
            return .completed
        }
        guard awaiting.isEmpty else { return nil }
        let acted = [StockReserved.messageType, PaymentAuthorized.messageType].contains(where: seen.contains)
        status = acted ? .compensated : .failed
        return .failed(status: status, reason: failure ?? "failed")
    }

    /// The services whose compensation event the order still waits for.
    public var awaiting: [ServiceName] {
        let failures = ChoreographyCatalog.outcome.filter { seen.contains($0.failure.messageType) }
        let services = Set(failures.flatMap(\.awaits))
        return services.filter { service in
            guard let answer = ChoreographyCatalog.compensated[service] else { return false }
            return !seen.contains(answer.messageType)
        }.sorted()
    }
}
