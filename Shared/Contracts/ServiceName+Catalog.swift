import Kafka
import Messaging

extension ServiceName {
    public static let orchestrator: ServiceName = "orchestrator"
    public static let aggregator: ServiceName = "aggregator"
    public static let payment: ServiceName = "payment"
    public static let inventory: ServiceName = "inventory"
    public static let shipping: ServiceName = "shipping"
    public static let profile: ServiceName = "profile"
    /// The orders context: the intake's `OrderPlaced` and the sagas' outcomes.
    public static let orders: ServiceName = "orders"

    /// The services that take part in the checkout and receive commands.
    public static let participants: [ServiceName] = [.payment, .inventory, .shipping, .profile]
    /// The contexts that publish events (`orchestrator.events` carries the orchestrator's
    /// operational events, such as circuit breaker changes).
    public static let eventSources: [ServiceName] = [.orders, .payment, .inventory, .shipping, .profile, .orchestrator]
}

extension TopicCatalog {
    /// The topics messages flow through (dead-letter topics excluded).
    public static var primaryTopics: [String] {
        ServiceName.participants.map(commands) + [orchestratorReplies] + ServiceName.eventSources.map(events)
            + ChoreographyCatalog.eventSources.map(choreographyEvents)
    }

    /// Every topic, dead-letter topics included: what start-up creates.
    public static var allTopics: [String] {
        primaryTopics + primaryTopics.map(deadLetter)
    }

    public static var specs: [KafkaTopicSpec] {
        allTopics.map { KafkaTopicSpec(name: $0, partitions: partitions) }
    }
}

extension TopicNames {
    /// Every topic of this deployment.
    public var allTopics: [String] { TopicCatalog.allTopics.map { prefix + $0 } }

    public var specs: [KafkaTopicSpec] {
        allTopics.map { KafkaTopicSpec(name: $0, partitions: partitions) }
    }
}
