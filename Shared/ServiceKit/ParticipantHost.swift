import Configuration
import Foundation
import Hummingbird
import Logging
import Messaging
import Prometheus
import ServiceLifecycle
import Storage

/// A participant's settings: the common service settings plus its fault plan.
public struct ParticipantSettings: Sendable {
    public var service: ServiceConfiguration
    public var faults: FaultPlan
    /// Where commands arrive and events go, and the consumer group; the catalog's names
    /// unless overridden (tests give each run its own).
    public var commandsTopic: String
    public var eventsTopic: String
    public var groupID: String

    public init(name: String, service: ServiceConfiguration, faults: FaultPlan = .none, topics: TopicNames = .standard) {
        self.service = service
        self.faults = faults
        self.commandsTopic = topics.commands(name)
        self.eventsTopic = topics.events(name)
        self.groupID = topics.group("ensemble-\(name)")
    }

    /// Reads `<NAME>_FAULTS` (and `FAULTS` when the service has the process to itself)
    /// besides the common settings.
    public static func read(_ name: String, defaultPort: Int, reader: ConfigReader, shared: Bool) throws(ServiceKitError) -> ParticipantSettings {
        let service = try ServiceConfiguration(service: name, defaultPort: defaultPort, reader: reader, shared: shared)
        var faults = FaultPlan.none
        if let text = reader.string(forKey: ConfigKey(name + ".faults")) {
            faults = try FaultPlan.parse(text, variable: name.uppercased() + "_FAULTS")
        } else if shared, let text = reader.string(forKey: "faults") {
            faults = try FaultPlan.parse(text, variable: "FAULTS")
        }
        return ParticipantSettings(name: name, service: service, faults: faults)
    }
}

/// Runs a `Participant`: opens and migrates its database, seeds it, and provides its
/// services — the outbox relay, the command consumer and the HTTP server — to put in a
/// `ServiceGroup` after the Kafka producer.
public struct ParticipantHost {
    public let context: ParticipantContext
    public let relay: OutboxRelay
    public let consumer: MessageConsumer
    public let settings: ParticipantSettings
    /// Set when the service shares its process: a fatal fault fails only this service.
    public let failure: ServiceFailure?
    private let router: Router<BasicRequestContext>
    private let logger: Logger

    public static func open(
        _ participant: some Participant,
        settings: ParticipantSettings,
        bus: any MessageBus,
        health: HealthState,
        metrics: PrometheusCollectorRegistry?,
        failure: ServiceFailure? = nil,
        logger: Logger
    ) async throws -> ParticipantHost {
        var logger = logger
        logger[metadataKey: LogKey.service] = "\(participant.name)"
        let database = try await openDatabase(participant.name, settings: settings.service, logger: logger)
        return try await open(participant, settings: settings, database: database, bus: bus, health: health, metrics: metrics, failure: failure, logger: logger)
    }

    /// Runs `participant` on an already open database (tests use a temporary file).
    public static func open(
        _ participant: some Participant,
        settings: ParticipantSettings,
        database: any Database,
        bus: any MessageBus,
        health: HealthState,
        metrics: PrometheusCollectorRegistry?,
        failure: ServiceFailure? = nil,
        logger: Logger
    ) async throws -> ParticipantHost {
        try await Migrator.migrate(database, Storage.messagingMigrations + participant.migrations, logger: logger)

        let relay = OutboxRelay(database: database, bus: bus, service: participant.name, logger: logger)
        let faults = FaultInjector(plan: settings.faults, logger: logger, crash: failure.map(FaultInjector.stopService) ?? FaultInjector.exitProcess)
        let executor = CommandExecutor(
            database: database, relay: relay, eventsTopic: settings.eventsTopic,
            onCommitted: { try await faults.committedOne() }
        )
        let context = ParticipantContext(name: participant.name, database: database, executor: executor, faults: faults, logger: logger)
        try await participant.seed(context)

        var commands = MessageRouter()
        participant.commands(context, router: &commands)
        health.set("consumer", ready: false, detail: "joining consumer group \(settings.groupID)")
        let consumer = MessageConsumer(
            name: participant.name,
            bus: bus,
            subscription: Subscription(groupID: settings.groupID, topics: [settings.commandsTopic]),
            router: commands,
            logger: logger,
            onReady: { health.set("consumer", ready: true, detail: "consuming \(settings.commandsTopic)") },
            onHold: health.partitionHold
        )
        let router = ServiceHTTPServer.makeRouter(health: health, metrics: metrics)
        participant.routes(context, router: router)
        if !settings.faults.isEmpty {
            logger.warning("fault injection is on", metadata: ["faults": "\(settings.faults)"])
        }
        return ParticipantHost(context: context, relay: relay, consumer: consumer, settings: settings, failure: failure, router: router, logger: logger)
    }

    /// The relay, the consumer and the HTTP server. `onHTTPRunning` receives the bound port.
    public func services(onHTTPRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> [any Service] {
        (failure.map { [$0.watcher] } ?? []) + [
            relay,
            consumer,
            ServiceHTTPServer.makeApplication(
                router: router, host: settings.service.httpHost, port: settings.service.httpPort,
                name: context.name, logger: logger, onRunning: onHTTPRunning
            ),
        ]
    }

    private static func openDatabase(_ name: String, settings: ServiceConfiguration, logger: Logger) async throws -> any Database {
        if let url = settings.databaseURL {
            if url.hasPrefix("sqlite://") {
                return try await SQLiteStore.open(path: String(url.dropFirst("sqlite://".count)), logger: logger)
            }
            throw ServiceKitError(code: .invalidConfiguration, message: "\(name): PostgreSQL (\(url.split(separator: "@").last ?? "")) is not supported by this build yet; unset DATABASE_URL to use SQLite under \(settings.dataDirectory)")
        }
        return try await SQLiteStore.open(path: "\(settings.dataDirectory)/\(name).sqlite", logger: logger)
    }
}
