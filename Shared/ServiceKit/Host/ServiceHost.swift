import Foundation
import Hummingbird
import Logging
import Messaging
import Prometheus
import ServiceLifecycle
import Storage
import Synchronization

/// The parts every service shares, opened once per service: its settings, its database
/// (opened and migrated), the outbox relay, health checks, the HTTP router with
/// `/health/*` and `/metrics`, fault injection, and the consumers and background
/// services the service adds in `HostedService.assemble`. `services()` lists them all
/// for a `ServiceGroup`, after the process's Kafka producer.
public final class ServiceHost {
    public let name: ServiceName
    public let settings: HostSettings
    public let database: any Database
    public let bus: any MessageBus
    public let relay: OutboxRelay
    public let health: HealthState
    /// Where the service adds its routes, each with the scope it needs.
    public let routes: ServiceRoutes
    public var router: Router<BasicRequestContext> { routes.router }
    public var access: AccessControl { routes.access }
    public let faults: FaultInjector
    /// Set when the service shares its process: a fatal fault fails only this service.
    public let failure: ServiceFailure?
    public let logger: Logger
    private let parts = Mutex<[any Service]>([])
    private let consumerList = Mutex<[MessageConsumer]>([])

    public var topics: TopicNames { settings.topics }
    public var configuration: ServiceConfiguration { settings.service }

    private init(
        name: ServiceName, settings: HostSettings, database: any Database, bus: any MessageBus, health: HealthState,
        metrics: PrometheusCollectorRegistry?, access: AccessControl, failure: ServiceFailure?, logger: Logger
    ) {
        self.name = name
        self.settings = settings
        self.database = database
        self.bus = bus
        self.health = health
        self.failure = failure
        self.logger = logger
        self.relay = OutboxRelay(database: database, bus: bus, service: name.rawValue, logger: logger)
        self.routes = ServiceHTTPServer.makeRoutes(health: health, metrics: metrics, access: access)
        self.faults = FaultInjector(plan: settings.faults, logger: logger, crash: failure.map(FaultInjector.stopService) ?? FaultInjector.exitProcess)
        if let failure { Self.addStopRoute(to: routes, failure: failure, name: name, logger: logger) }
    }

    /// `POST /admin/stop?seconds=N` (1-60, default 5) stops this service — consumers, relay,
    /// HTTP server — for N seconds, then its supervisor starts it again: a participant
    /// that goes away mid-run, on demand (`ensemble bench compare` uses it). Only in a
    /// process that supervises its services (`ensemble up`); a service alone in its process
    /// is stopped by stopping the process.
    static func addStopRoute(to routes: ServiceRoutes, failure: ServiceFailure, name: ServiceName, logger: Logger) {
        routes.post("admin/stop", scope: .admin) { request, _ -> Response in
            let text = request.uri.queryParameters["seconds"].map(String.init) ?? "5"
            guard let seconds = Int(text), (1...60).contains(seconds) else {
                throw APIError.badRequest("seconds must be a whole number from 1 to 60", code: "invalid-parameter")
            }
            logger.warning("service stop requested", metadata: [LogKey.restartIn: "\(seconds) s"])
            // Answer first: the HTTP server stops with the service.
            Task {
                try? await Task.sleep(for: .milliseconds(50))
                failure.stop(for: .seconds(seconds), "stopped for \(seconds) s by POST /admin/stop")
            }
            return try ServiceHTTPServer.jsonResponse(.accepted, StopAccepted(service: name.rawValue, seconds: seconds))
        }
    }

    struct StopAccepted: Codable {
        var service: String
        var seconds: Int
    }

    /// Opens `service`: its database (`database`, or the one `DATABASE_URL` / the data
    /// directory names), migrated; then lets the service assemble itself on the host.
    /// Returns the host and what the service handed back.
    public static func open<S: HostedService>(
        _ service: S,
        settings: HostSettings,
        database: (any Database)? = nil,
        bus: any MessageBus,
        health: HealthState = HealthState(),
        metrics: PrometheusCollectorRegistry?,
        failure: ServiceFailure? = nil,
        logger: Logger
    ) async throws -> (host: ServiceHost, handle: S.Handle) {
        var logger = logger
        logger[metadataKey: LogKey.service] = "\(service.name)"
        guard let accessSettings = settings.service.access else { throw ServiceKitError.missingSigningSecret }
        let access = try await AccessControl.make(accessSettings)
        if access.isOff {
            logger.warning("authentication is off (AUTH=off): every caller may use every route")
        }
        let database = if let database { database } else { try await openDatabase(service.name, settings: settings.service, logger: logger) }
        try await Migrator.migrate(database, Storage.messagingMigrations + service.migrations, logger: logger)
        let host = ServiceHost(
            name: service.name, settings: settings, database: database, bus: bus, health: health, metrics: metrics, access: access, failure: failure, logger: logger
        )
        let handle = try await service.assemble(on: host)
        if !settings.faults.isEmpty {
            logger.warning("fault injection is on", metadata: [LogKey.faults: "\(settings.faults)"])
        }
        return (host, handle)
    }

    /// Adds a consumer of `subscription`: `/health/ready` waits for it to own partitions
    /// and reports a partition it holds. `onReady` runs once it owns partitions.
    /// `insideBatch`, when given, runs inside each group commit around its records (to
    /// write what the whole batch changed once, at its end).
    @discardableResult
    public func consume(
        _ subscription: Subscription,
        router: MessageRouter,
        name consumerName: String? = nil,
        insideBatch: MessageConsumer.BatchScope? = nil,
        onReady: @escaping @Sendable () -> Void = {}
    ) -> MessageConsumer {
        let check = "consumer \(subscription.groupID)"
        let health = self.health
        health.set(check, ready: false, detail: "joining consumer group \(subscription.groupID)")
        // Each poll batch is one group commit on the service's database, except when a
        // crash is injected after a command's commit: that fault needs each command's own.
        let database = self.database
        let groupCommit: MessageConsumer.BatchScope = { (body: @Sendable () async throws -> MessageConsumer.BatchStop?) async throws -> MessageConsumer.BatchStop? in
            if let insideBatch {
                return try await database.batch { try await insideBatch(body) }
            }
            return try await database.batch(body)
        }
        let batchScope = settings.faults.crashAfter == nil ? groupCommit : nil
        let consumer = MessageConsumer(
            name: consumerName ?? name.rawValue, bus: bus, subscription: subscription, router: router, batchScope: batchScope, logger: logger,
            onReady: {
                health.set(check, ready: true, detail: "consuming \(subscription.topics.joined(separator: ", "))")
                onReady()
            },
            onHold: health.partitionHold
        )
        consumerList.withLock { $0.append(consumer) }
        add(consumer)
        return consumer
    }

    /// The consumers added so far.
    public var consumers: [MessageConsumer] { consumerList.withLock { $0 } }

    /// Adds a background service (a timer, a projector) to run with the host.
    public func add(_ service: any Service) {
        parts.withLock { $0.append(service) }
    }

    /// The failure watcher (when shared), the relay, the consumers and background
    /// services, and the HTTP server. `onHTTPRunning` receives the bound port.
    public func services(onHTTPRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> [any Service] {
        let health = self.health
        let http = ServiceHTTPServer.makeApplication(
            router: router, host: configuration.httpHost, port: configuration.httpPort, name: name.rawValue, logger: logger,
            onRunning: { port in
                health.set("started", ready: true)
                await onHTTPRunning(port)
            }
        )
        return (failure.map { [$0.watcher] } ?? []) + [relay] + parts.withLock { $0 } + [http]
    }

    /// The database `DATABASE_URL` names (`sqlite://` or `postgres://`), or `<data directory>/<name>.sqlite`.
    public static func openDatabase(_ name: ServiceName, settings: ServiceConfiguration, logger: Logger) async throws -> any Database {
        if let url = settings.databaseURL {
            if url.hasPrefix("sqlite://") {
                return try await SQLiteStore.open(path: String(url.dropFirst("sqlite://".count)), logger: logger)
            }
            return try await PostgresStore.open(url: url, logger: logger)
        }
        return try await SQLiteStore.open(path: "\(settings.dataDirectory)/\(name).sqlite", logger: logger)
    }
}
