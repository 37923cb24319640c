import Configuration
import Foundation
import Hummingbird
import Logging
import Messaging
import Prometheus
import ServiceKit
import ServiceLifecycle
import Storage

/// The orchestrator: order intake over HTTP, the checkout saga engine, its timers, and
/// the consumer of participants' replies.
public struct OrchestratorService: Sendable {
    public static let name = "orchestrator"
    public static let defaultHTTPPort = 8080
    /// The orchestrator's schema: inbox and outbox, sagas, circuit breakers.
    public static let migrations = Storage.messagingMigrations + [SagaStore.migration, BreakerStore.migration]

    public let runner: SagaRunner
    public let relay: OutboxRelay
    public let consumer: MessageConsumer
    public let settings: ServiceConfiguration
    private let http: any Service
    /// Opens when the reply consumer owns its partitions; timers wait for it.
    private let consuming: Latch
    private let logger: Logger

    /// Opens the database at `DATA_DIRECTORY/orchestrator.sqlite` (or `database`), loads the
    /// saga definitions, and prepares the services; every unfinished saga resumes when they run.
    public static func open(
        settings: ServiceConfiguration,
        database: (any Database)? = nil,
        bus: any MessageBus,
        topics: TopicNames = .standard,
        breakers: CircuitBreakers = CircuitBreakers(),
        health: HealthState,
        metrics: PrometheusCollectorRegistry?,
        logger: Logger,
        onHTTPRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> OrchestratorService {
        var logger = logger
        logger[metadataKey: "service"] = "\(name)"
        if let url = settings.databaseURL, !url.hasPrefix("sqlite://") {
            throw ServiceKitError(code: .invalidConfiguration, message: "orchestrator: PostgreSQL is not supported by this build yet; unset DATABASE_URL to use SQLite under \(settings.dataDirectory)")
        }
        let path = settings.databaseURL.map { String($0.dropFirst("sqlite://".count)) } ?? "\(settings.dataDirectory)/\(name).sqlite"
        let database: any Database = if let database { database } else {
            try await SQLiteStore.open(path: path, logger: logger)
        }
        try await Migrator.migrate(database, migrations, logger: logger)
        let relay = OutboxRelay(database: database, bus: bus, service: name, logger: logger)
        let runner = SagaRunner(database: database, relay: relay, engine: SagaEngine(breakers: breakers), topics: topics, logger: logger)
        try await runner.loadDefinitions(builtIn: [CheckoutDefinition.definition])
        try await runner.loadBreakers()
        let consuming = Latch()

        var replies = MessageRouter()
        for type in runner.engine.catalog.replies.keys {
            replies.on(messageType: type) { envelope in try await runner.handleReply(envelope) }
        }
        health.set("consumer", ready: false, detail: "joining the replies consumer group")
        let consumer = MessageConsumer(
            name: name, bus: bus,
            subscription: Subscription(groupID: topics.group("ensemble-orchestrator"), topics: [topics.orchestratorReplies]),
            router: replies, logger: logger,
            onReady: {
                health.set("consumer", ready: true, detail: "consuming \(topics.orchestratorReplies)")
                consuming.open()
            },
            onHold: health.partitionHold
        )
        let router = ServiceHTTPServer.makeRouter(health: health, metrics: metrics)
        addRoutes(to: router, runner: runner)
        let http = ServiceHTTPServer.makeApplication(router: router, host: settings.httpHost, port: settings.httpPort, name: name, logger: logger, onRunning: onHTTPRunning)
        return OrchestratorService(runner: runner, relay: relay, consumer: consumer, settings: settings, http: http, consuming: consuming, logger: logger)
    }

    /// The relay, the reply consumer and the timers: the saga machinery without HTTP.
    public var engineServices: [any Service] {
        [relay, consumer, SagaTimerService(runner: runner, consuming: consuming, logger: logger)]
    }

    /// Everything: the saga machinery and the HTTP server.
    public var services: [any Service] {
        engineServices + [http]
    }
}

extension OrchestratorService {
    /// The `main` of `ensemble-orchestrator`: configuration from the environment, runs until
    /// SIGTERM or SIGINT, and a start-up failure is one line on standard error and exit 1.
    public static func main() async {
        do {
            let reader = ConfigReader(provider: EnvironmentVariablesProvider())
            let settings = try ServiceConfiguration(service: name, defaultPort: defaultHTTPPort, reader: reader)
            Observability.bootstrapLogging(service: name, format: settings.logFormat, level: settings.logLevel)
            let metrics = Observability.bootstrapMetrics()
            let logger = Logger(label: "ensemble.\(name)")
            let kafka = try await KafkaRuntime.connect(settings, logger: logger)
            let health = HealthState()
            let orchestrator = try await open(settings: settings, bus: kafka.bus, health: health, metrics: metrics, logger: logger) { port in
                health.set("started", ready: true)
                logger.info("orchestrator ready", metadata: ["http.port": "\(port)"])
            }
            let services: [any Service] = [kafka.producer] + orchestrator.services
            let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        } catch {
            FileHandle.standardError.write(Data("ensemble-orchestrator: error: \(error)\n".utf8))
            exit(1)
        }
    }
}
