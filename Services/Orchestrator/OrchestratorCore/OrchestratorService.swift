import Configuration
import Contracts
import Foundation
import Messaging
import ServiceKit
import Storage

/// The orchestrator: order intake over HTTP, the checkout saga engine, its timers, and
/// the consumer of participants' replies.
public struct OrchestratorService: HostedService {
    public static let name = ServiceName.orchestrator
    public static let defaultHTTPPort = 8080

    public var name: ServiceName { Self.name }
    public var defaultHTTPPort: Int { Self.defaultHTTPPort }
    /// Sagas and their definitions, idempotency keys, circuit breakers, choreographed orders.
    public var migrations: [Migration] { [SagaStore.migration, BreakerStore.migration, ChoreographyStore.migration, SagaStore.historyMigration, ChoreographyStore.traceMigration] }
    /// The breakers' working set (tests pass their own to look at it).
    public let breakers: CircuitBreakers
    /// How an order without `"mode"` runs.
    public let defaultMode: CheckoutMode
    /// Seals card numbers at the intake (nil only for a service built in code, in tests).
    public let cardSealer: CardSealer?

    public init(breakers: CircuitBreakers = CircuitBreakers(), defaultMode: CheckoutMode = .orchestration, cardSealer: CardSealer? = nil) {
        self.breakers = breakers
        self.defaultMode = defaultMode
        self.cardSealer = cardSealer
    }

    /// Reads `ORDER_MODE` (`orchestration` or `choreography`) and `CARD_SEALING_KEY`, the
    /// payment vault's public key (required; `cardSealer`, when given, is used when the
    /// variable is not set — `ensemble up` passes its local vault's).
    public init(reader: ConfigReader, cardSealer fallback: CardSealer? = nil) throws(ServiceKitError) {
        var mode = CheckoutMode.orchestration
        if let text = reader.string(forKey: "order.mode") {
            guard let parsed = CheckoutMode(rawValue: text) else {
                throw .invalid("ORDER_MODE", text, expected: "orchestration or choreography")
            }
            mode = parsed
        }
        let sealer: CardSealer
        if let key = reader.string(forKey: "card.sealing.key"), !key.isEmpty {
            sealer = try CardSealer(publicKey: key)
        } else if let fallback {
            sealer = fallback
        } else {
            throw ServiceKitError(code: .invalidConfiguration, message: "CARD_SEALING_KEY is not set: the payment vault's public key, which seals card numbers at the intake (ensemble vault-key prints it for a PAYMENT_VAULT_KEY)")
        }
        self.init(defaultMode: mode, cardSealer: sealer)
    }

    /// Loads the saga definitions and breakers, and adds the reply consumer, the timers,
    /// the choreography tracker and the HTTP API. Every unfinished saga resumes when the
    /// host runs.
    public func assemble(on host: ServiceHost) async throws -> OrderIntake {
        let runner = SagaRunner(database: host.database, relay: host.relay, engine: SagaEngine(breakers: breakers), topics: host.topics, logger: host.logger)
        try await runner.loadDefinitions(builtIn: [CheckoutDefinition.definition])
        try await runner.loadBreakers()

        // Timeouts only mean something while replies can arrive: the timers start once the
        // reply consumer owns its partitions.
        let consuming = Latch()
        var replies = MessageRouter()
        for type in runner.engine.catalog.replies.keys {
            replies.on(messageType: type) { envelope in try await runner.handleReply(envelope) }
        }
        host.consume(
            Subscription(groupID: host.topics.group("ensemble-orchestrator"), topics: [host.topics.orchestratorReplies]),
            router: replies, onReady: { consuming.open() }
        )
        host.add(SagaTimerService(runner: runner, consuming: consuming, logger: host.logger))

        // The tracker keeps a consumer group of its own: the participants' events share
        // their `message-type` with the replies (`payment.authorized.v1` is both), and a
        // router routes by type.
        let tracker = ChoreographyTracker(database: host.database, relay: host.relay, topics: host.topics, logger: host.logger)
        if host.settings.choreography {
            var events = MessageRouter()
            for type in EventCatalog.all where ChoreographyTracker.sources.contains(type.source) {
                events.on(messageType: type.messageType, inFlow: ChoreographyCatalog.flow) { envelope in try await tracker.apply(envelope) }
            }
            host.consume(
                Subscription(groupID: host.topics.group("ensemble-orchestrator-choreography"), topics: ChoreographyTracker.sources.map(host.topics.choreographyEvents)),
                router: events, name: "orchestrator-choreography"
            )
        } else if defaultMode == .choreography {
            throw ServiceKitError.invalid("ORDER_MODE", "choreography", expected: "orchestration while CHOREOGRAPHY=off")
        }
        let intake = OrderIntake(runner: runner, tracker: tracker, defaultMode: defaultMode, choreography: host.settings.choreography, sealer: cardSealer)
        Self.addRoutes(to: host.routes, intake: intake)
        return intake
    }
}
