import Foundation
import Kafka

/// A service of the system, by name: it names the service's topics, consumer group,
/// database and metrics. The services themselves are listed in `Contracts`
/// (`ServiceName.payment`, ...).
public struct ServiceName: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        self.rawValue = value
    }

    public var description: String { rawValue }

    public static func < (lhs: ServiceName, rhs: ServiceName) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How topics are named: `<service>.commands`, `<source>.events`,
/// `<source>.events.choreography` (the choreographed checkout's events), `orchestrator.replies`,
/// and `<topic>.dlq` for dead letters. The list of every topic (created at start-up) is
/// in `Contracts`, next to the list of services.
public enum TopicCatalog {
    /// Partitions per topic when the catalog creates them: the unit of parallelism of a
    /// consumer group. 8 unless `KAFKA_TOPIC_PARTITIONS` says otherwise (1-64); `make up`
    /// creates 1 on the single embedded broker, where fewer partitions measured faster
    /// (Docs/performance.md). Topics that exist keep their count.
    public static let partitions: Int = {
        guard let text = ProcessInfo.processInfo.environment["KAFKA_TOPIC_PARTITIONS"], let count = Int(text), (1...64).contains(count) else { return 8 }
        return count
    }()

    public static func commands(_ service: ServiceName) -> String { "\(service).commands" }
    public static func events(_ source: ServiceName) -> String { "\(source).events" }
    /// The events of the choreographed checkout, on topics of their own: only the
    /// choreography's consumers (and the aggregator) read them, so an orchestrated order's
    /// events are not fetched by consumers that would only pass them by.
    public static func choreographyEvents(_ source: ServiceName) -> String { "\(source).events.choreography" }
    public static let orchestratorReplies = "orchestrator.replies"

    /// Where messages from `topic` that cannot be handled are parked.
    public static func deadLetter(for topic: String) -> String { "\(topic).dlq" }
}

/// The topic names of one deployment: the catalog's names, optionally behind a prefix so
/// that several stacks (tests, say) can share one cluster without seeing each other.
public struct TopicNames: Sendable, Hashable {
    public let prefix: String
    public let partitions: Int

    public init(prefix: String = "", partitions: Int = TopicCatalog.partitions) {
        self.prefix = prefix
        self.partitions = partitions
    }

    public static let standard = TopicNames()

    public func commands(_ service: ServiceName) -> String { prefix + TopicCatalog.commands(service) }
    public func events(_ source: ServiceName) -> String { prefix + TopicCatalog.events(source) }
    public func choreographyEvents(_ source: ServiceName) -> String { prefix + TopicCatalog.choreographyEvents(source) }
    public var orchestratorReplies: String { prefix + TopicCatalog.orchestratorReplies }
    /// A consumer group name in this deployment.
    public func group(_ name: String) -> String { prefix + name }
}
