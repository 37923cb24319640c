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
    /// Sagas and their definitions, idempotency keys, circuit breakers.
    public var migrations: [Migration] { [SagaStore.migration, BreakerStore.migration] }
    /// The breakers' working set (tests pass their own to look at it).
    public let breakers: CircuitBreakers

    public init(breakers: CircuitBreakers = CircuitBreakers()) {
        self.breakers = breakers
    }

    /// Loads the saga definitions and breakers, and adds the reply consumer, the timers
    /// and the HTTP API. Every unfinished saga resumes when the host runs.
    public func assemble(on host: ServiceHost) async throws -> SagaRunner {
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
        Self.addRoutes(to: host.router, runner: runner)
        return runner
    }
}
