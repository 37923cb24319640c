import Kafka

/// Every topic Ensemble uses, in one place. `ensemble up` and each service create them at start-up.
public enum TopicCatalog {
    /// Partitions per topic: the unit of parallelism of a consumer group.
    public static let partitions = 8

    /// The participant services that receive commands.
    public static let participants = ["payment", "inventory", "shipping", "profile"]
    /// The contexts that publish events (`orchestrator.events` carries the orchestrator's
    /// operational events, such as circuit breaker changes).
    public static let eventSources = ["orders", "payment", "inventory", "shipping", "profile", "orchestrator"]

    public static func commands(_ service: String) -> String { "\(service).commands" }
    public static func events(_ source: String) -> String { "\(source).events" }
    public static let orchestratorReplies = "orchestrator.replies"

    /// Where messages from `topic` that cannot be handled are parked.
    public static func deadLetter(for topic: String) -> String { "\(topic).dlq" }

    /// The topics messages flow through (dead-letter topics excluded).
    public static var primaryTopics: [String] {
        participants.map(commands) + [orchestratorReplies] + eventSources.map(events)
    }

    /// Every topic, dead-letter topics included.
    public static var allTopics: [String] {
        primaryTopics + primaryTopics.map(deadLetter)
    }

    public static var specs: [KafkaTopicSpec] {
        allTopics.map { KafkaTopicSpec(name: $0, partitions: partitions) }
    }
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

    public func commands(_ service: String) -> String { prefix + TopicCatalog.commands(service) }
    public func events(_ source: String) -> String { prefix + TopicCatalog.events(source) }
    public var orchestratorReplies: String { prefix + TopicCatalog.orchestratorReplies }
    /// A consumer group name in this deployment.
    public func group(_ name: String) -> String { prefix + name }

    public var allTopics: [String] { TopicCatalog.allTopics.map { prefix + $0 } }

    public var specs: [KafkaTopicSpec] {
        allTopics.map { KafkaTopicSpec(name: $0, partitions: partitions) }
    }
}
