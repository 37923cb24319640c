import Contracts
import Messaging

/// `GET /choreography`: the flow of the choreographed checkout, derived from the
/// reactions the participants declare (`ChoreographyCatalog`), which are also what they
/// register their handlers from. It is the picture a choreography usually hides.
public struct ChoreographyDocument: Sendable, Codable {
    public struct ServiceReactions: Sendable, Codable {
        public var service: ServiceName
        /// The topics the service's choreography consumer reads.
        public var subscribes: [String]
        public var reactions: [ReactionView]
    }

    public struct ReactionView: Sendable, Codable {
        public var on: String
        public var action: String
        public var emits: [String]
    }

    public struct Tracker: Sendable, Codable {
        public var service: ServiceName
        public var subscribes: [String]
        /// The order completes once every one of these was seen.
        public var completesOn: [String]
        public var failsOn: [FailureView]
        public var emits: [String]
    }

    public struct FailureView: Sendable, Codable {
        public var event: String
        /// Services whose compensation event the order waits for before it is over.
        public var awaits: [ServiceName]
    }

    /// One arrow of the diagram: `from` publishes `event`, `to` reacts to it.
    public struct Edge: Sendable, Hashable, Codable, Comparable {
        public var from: String
        public var event: String
        public var to: String

        public static func < (lhs: Edge, rhs: Edge) -> Bool { (lhs.from, lhs.event, lhs.to) < (rhs.from, rhs.event, rhs.to) }
    }

    public var flow: String
    /// Who publishes `order-placed`.
    public var intake: ServiceName
    public var services: [ServiceReactions]
    public var tracker: Tracker
    /// The service that owns the deadline of a stuck order, and what it publishes then.
    public var deadlineOwner: ServiceName
    public var deadlineEvent: String
    /// Where the premium / over-100 shipping rule is decided.
    public var shippingRuleLives: ServiceName
    public var edges: [Edge]

    public init(topics: TopicNames = .standard) {
        flow = ChoreographyCatalog.flow
        intake = .orders
        let participants = Array(Set(ChoreographyCatalog.reactions.map(\.service))).sorted()
        services = participants.map { service in
            ServiceReactions(
                service: service,
                subscribes: ChoreographyCatalog.sources(of: service).map(topics.choreographyEvents),
                reactions: ChoreographyCatalog.reactions(of: service).map {
                    ReactionView(on: $0.on.messageType, action: $0.action, emits: $0.emits.map { $0.messageType })
                }
            )
        }
        tracker = Tracker(
            service: .orchestrator,
            subscribes: ChoreographyTracker.sources.map(topics.choreographyEvents),
            completesOn: ChoreographyCatalog.completion.map { $0.messageType },
            failsOn: ChoreographyCatalog.outcome.map { FailureView(event: $0.failure.messageType, awaits: $0.awaits) },
            emits: [OrderCompleted.messageType, OrderFailed.messageType]
        )
        deadlineOwner = .shipping
        deadlineEvent = ShipmentRefused.messageType
        shippingRuleLives = .shipping
        edges = Self.edges
    }

    /// Every (publisher, event, subscriber) the declarations imply. `order-placed` comes
    /// from the intake; every other event from the participants that declare they emit it.
    public static var edges: [Edge] {
        var edges: Set<Edge> = []
        for reaction in ChoreographyCatalog.reactions {
            let type = reaction.on.messageType
            var publishers = ChoreographyCatalog.reactions.filter { $0.emits.contains { $0.messageType == type } }.map(\.service.rawValue)
            if reaction.on.source == .orders { publishers.append("intake") }
            for publisher in Set(publishers) {
                edges.insert(Edge(from: publisher, event: type, to: reaction.service.rawValue))
            }
        }
        return edges.sorted()
    }

    /// `text/vnd.mermaid`: one arrow per edge, labelled with the event's short name.
    public var mermaid: String {
        var lines = ["flowchart LR", "    intake([\"orchestrator: intake\"])"]
        for service in services { lines.append("    \(service.service)[\"\(service.service)\"]") }
        lines.append("    tracker[(\"orchestrator: tracker\")]")
        for edge in edges { lines.append("    \(edge.from) -->|\(Self.shortName(edge.event))| \(edge.to)") }
        lines.append("    \(services.map(\.service.rawValue).joined(separator: " & ")) -.->|events| tracker")
        lines.append("    tracker -.->|order-completed / order-failed| intake")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `inventory.stock-reserved.v1` → `stock-reserved`; `payment.authorized.v1` → `payment-authorized`.
    public static func shortName(_ messageType: String) -> String {
        let parts = messageType.split(separator: ".")
        guard parts.count == 3 else { return messageType }
        return parts[1].contains("-") ? String(parts[1]) : "\(parts[0])-\(parts[1])"
    }
}
