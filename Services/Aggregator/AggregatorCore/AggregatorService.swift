import Configuration
import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import Metrics
import ServiceKit
import ServiceLifecycle
import Storage
import Synchronization

/// The aggregator: read models built from every service's events — customer profiles
/// with provenance, order views, products, a dashboard — their HTTP API, live fan-out to
/// the services, push, and rebuild.
public struct AggregatorService: HostedService {
    public struct Settings: Sendable {
        public var rules: MergeRules
        /// Reads per second per client, and the burst allowed.
        public var readRate: Double
        public var readBurst: Double
        public var live: LiveFanOut.Sources
        public var liveTimeout: Duration
        /// How long `?after=` waits for the projection.
        public var consistencyWait: Duration
        /// Poll the broker's positions for each source's lag (off in unit tests).
        public var watchWatermarks: Bool

        public init(
            rules: MergeRules = .standard, readRate: Double = 5000, readBurst: Double? = nil,
            live: LiveFanOut.Sources = .local, liveTimeout: Duration = .milliseconds(500),
            consistencyWait: Duration = .seconds(2), watchWatermarks: Bool = true
        ) {
            self.rules = rules
            self.readRate = readRate
            self.readBurst = readBurst ?? readRate
            self.live = live
            self.liveTimeout = liveTimeout
            self.consistencyWait = consistencyWait
            self.watchWatermarks = watchWatermarks
        }
    }

    public static let name = ServiceName.aggregator
    public static let defaultHTTPPort = 8081

    public var name: ServiceName { Self.name }
    public var defaultHTTPPort: Int { Self.defaultHTTPPort }
    public var migrations: [Migration] { ProjectionTables.migrations }
    public let settings: Settings

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// Reads `AGGREGATOR_RULES` (a JSON rules file), `AGGREGATOR_READ_RATE`,
    /// `AGGREGATOR_READ_BURST`, `AGGREGATOR_LIVE_TIMEOUT_MS` and the services' URLs for
    /// live reads (`AGGREGATOR_PROFILE_URL`, `_ORCHESTRATOR_URL`, `_PAYMENT_URL`,
    /// `_SHIPPING_URL`; by default the local ports).
    public init(reader: ConfigReader) throws {
        var settings = Settings(rules: try MergeRules.load(path: reader.string(forKey: "aggregator.rules")))
        func number(_ key: ConfigKey, _ variable: String) throws -> Double? {
            guard let text = reader.string(forKey: key) else { return nil }
            guard let value = Double(text), value > 0 else { throw ServiceKitError.invalid(variable, text, expected: "a positive number") }
            return value
        }
        if let rate = try number("aggregator.read.rate", "AGGREGATOR_READ_RATE") { settings.readRate = rate; settings.readBurst = rate }
        if let burst = try number("aggregator.read.burst", "AGGREGATOR_READ_BURST") { settings.readBurst = burst }
        if let timeout = try number("aggregator.live.timeout.ms", "AGGREGATOR_LIVE_TIMEOUT_MS") { settings.liveTimeout = .milliseconds(Int64(timeout)) }
        var live = LiveFanOut.Sources.local
        live.profile = reader.string(forKey: "aggregator.profile.url") ?? live.profile
        live.orchestrator = reader.string(forKey: "aggregator.orchestrator.url") ?? live.orchestrator
        live.payment = reader.string(forKey: "aggregator.payment.url") ?? live.payment
        live.shipping = reader.string(forKey: "aggregator.shipping.url") ?? live.shipping
        settings.live = live
        self.init(settings: settings)
    }

    /// What the aggregator hands back to whoever opened it (tests look inside).
    public struct Handle: Sendable {
        let store: ProjectionStore
        let rebuilder: Rebuilder
        let freshness: FreshnessTracker

        /// Every profile's stored JSON (a rebuild must reproduce it byte for byte).
        public func profileDocuments() async throws -> [String: String] { try await store.allProfileJSON() }
        public func profile(_ id: String) async throws -> CustomerProfile? { try await store.profile(id) }
        public func startRebuild() -> Bool { rebuilder.start() }
        public var rebuildState: String { rebuilder.current.state }
    }

    public func assemble(on host: ServiceHost) async throws -> Handle {
        let store = ProjectionStore(database: host.database, rules: settings.rules)
        let stream = ProfileStream()
        let lag = LagRecorder()
        // Each source's events, and those of the choreographed checkout on their own topics.
        let sourceOf = Dictionary(uniqueKeysWithValues: Projector.subscribed.flatMap { source in
            [(host.topics.events(source), source.rawValue)]
                + (ChoreographyCatalog.eventSources.contains(source) ? [(host.topics.choreographyEvents(source), source.rawValue)] : [])
        })
        let topics = sourceOf.keys.sorted()
        let freshness = FreshnessTracker(topics: sourceOf)

        let refresher = ProfileRefresher(store: store, stream: stream, lag: lag, logger: host.logger)
        var router = MessageRouter()
        let database = host.database
        for type in Projector.sources.keys {
            router.on(messageType: type) { envelope in
                guard try await store.apply(envelope) else { return }
                let occurredAt = envelope.occurredAt
                database.afterCommit { refresher.applied(occurredAt: occurredAt) }
            }
        }
        // In a group commit, each partition's position, the sources' freshness and the
        // dirty marks are written once per batch instead of once per event.
        var collect: MessageConsumer.BatchScope?
        if database.groupsCommits {
            collect = { (body: @Sendable () async throws -> MessageConsumer.BatchStop?) async throws -> MessageConsumer.BatchStop? in
                try await store.collecting(body)
            }
        }
        host.consume(Subscription(groupID: host.topics.group("ensemble-aggregator"), topics: topics), router: router, insideBatch: collect)
        host.add(refresher)

        let kafka = host.configuration.kafka
        let admin: KafkaAdmin? = settings.watchWatermarks ? try KafkaAdmin(configuration: kafka, logger: host.logger) : nil
        if let admin {
            host.add(WatermarkPoller(admin: admin, topics: topics, freshness: freshness, logger: host.logger))
        }
        let rebuilder = Rebuilder(
            database: host.database, bus: host.bus, topics: topics, partitions: host.topics.partitions, rules: settings.rules,
            totalEvents: {
                guard let admin, let marks = try? await admin.highWatermarks(topics, timeout: .seconds(5)) else { return nil }
                return marks.values.reduce(0, +)
            },
            logger: host.logger
        )
        host.add(rebuilder)
        // Live reads call the services' APIs with the aggregator's own token.
        let credentials = host.access.tokens.map {
            ServiceToken(tokens: $0, subject: "aggregator", scopes: [.profilesRead, .ordersRead, .paymentsRead, .shipmentsRead])
        }
        let live = LiveFanOut(sources: settings.live, timeout: settings.liveTimeout, credentials: credentials)
        host.add(LiveRefresher(live: live))

        let api = AggregatorAPI(
            store: store, freshness: freshness, live: live, stream: stream, rebuilder: rebuilder, lag: lag,
            rules: settings.rules, consistencyWait: settings.consistencyWait
        )
        api.addRoutes(to: host.routes, throttle: ReadThrottle.Buckets(rate: settings.readRate, burst: settings.readBurst))
        return Handle(store: store, rebuilder: rebuilder, freshness: freshness)
    }
}

extension LiveFanOut.Sources {
    /// The services on their default local ports.
    public static let local = LiveFanOut.Sources(
        profile: "http://127.0.0.1:8085", orchestrator: "http://127.0.0.1:8080", payment: "http://127.0.0.1:8082", shipping: "http://127.0.0.1:8084"
    )
}

/// Recomputes the profiles that applied events marked, every few milliseconds: under load
/// a busy customer's profile is computed once per round instead of once per event. It
/// pushes the new profiles to stream clients and records each event's lag when the
/// profiles it changed are written. Marks left by a crash are picked up at start.
final class ProfileRefresher: Service, Sendable {
    private let store: ProjectionStore
    private let stream: ProfileStream
    private let lag: LagRecorder
    private let logger: Logger
    private let wake = WakeSignal()
    private let pending = Mutex<[Date]>([])
    let interval: Duration

    init(store: ProjectionStore, stream: ProfileStream, lag: LagRecorder, logger: Logger, interval: Duration = .milliseconds(5)) {
        self.store = store
        self.stream = stream
        self.lag = lag
        self.logger = logger
        self.interval = interval
    }

    /// An event was applied (its facts committed).
    func applied(occurredAt: Date) {
        pending.withLock { $0.append(occurredAt) }
        wake.signal()
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // How long the last refresh took: the next burst gathers for at least four times
            // that, so refreshing takes at most a fifth of a core however hot one customer
            // is (every order of a benchmark is bob's, and his profile is rebuilt whole).
            var cost = Duration.zero
            while !Task.isCancelled {
                await self.wake.wait(timeout: .seconds(1))
                // Let a burst gather for a moment: one computation serves all of it.
                try? await Task.sleep(for: max(self.interval, cost * 4))
                let started = ContinuousClock.now
                defer { cost = ContinuousClock.now - started }
                do {
                    let events = self.pending.withLock { taken -> [Date] in defer { taken.removeAll() }; return taken }
                    var documents: [String: String] = [:]
                    while true {
                        let round = try await self.store.refreshDirty()
                        if round.isEmpty { break }
                        documents.merge(round) { _, new in new }
                    }
                    let now = Date()
                    for occurredAt in events { self.lag.record(now.timeIntervalSince(occurredAt)) }
                    if !documents.isEmpty { self.stream.publish(documents) }
                } catch {
                    self.logger.error("profile refresh failed; retrying", metadata: [LogKey.error: "\(error)"])
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
    }
}

/// Polls the broker's high watermarks of the subscribed topics, for the sources' lag.
struct WatermarkPoller: Service {
    let admin: KafkaAdmin
    let topics: [String]
    let freshness: FreshnessTracker
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let marks = try await admin.highWatermarks(topics, timeout: .seconds(2))
                    freshness.update(Dictionary(uniqueKeysWithValues: marks.map { ("\($0.key.topic)[\($0.key.partition)]", $0.value) }))
                } catch {
                    logger.debug("watermarks not read", metadata: [LogKey.error: "\(error)"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// Fetches, in the background, the live profiles served stale from the cache.
struct LiveRefresher: Service {
    let live: LiveFanOut

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await customer in live.pendingRefreshes {
                await live.refresh(customer)
            }
        }
    }
}

/// Projection lag (event occurred-at → applied), for `GET /admin/lag` and the benchmark:
/// the last 10,000 samples, and a histogram in the metrics.
final class LagRecorder: Sendable {
    private let samples = Mutex<(values: [Double], next: Int)>(([], 0))
    private let timer = Metrics.Timer(label: "ensemble_aggregator_projection_lag_seconds", preferredDisplayUnit: .seconds)

    func record(_ seconds: TimeInterval) {
        timer.recordNanoseconds(Int64(max(0, seconds) * 1e9))
        samples.withLock { state in
            if state.values.count < 10_000 {
                state.values.append(seconds)
            } else {
                state.values[state.next] = seconds
                state.next = (state.next + 1) % 10_000
            }
        }
    }

    func reset() {
        samples.withLock { $0 = ([], 0) }
    }

    struct Summary: Sendable, Codable {
        var count: Int
        var p50Milliseconds: Double?
        var p99Milliseconds: Double?
        var maxMilliseconds: Double?
    }

    var summary: Summary {
        let values = samples.withLock { $0.values }.sorted()
        func at(_ q: Double) -> Double? { values.isEmpty ? nil : values[min(values.count - 1, Int(Double(values.count) * q))] * 1000 }
        return Summary(count: values.count, p50Milliseconds: at(0.5), p99Milliseconds: at(0.99), maxMilliseconds: values.last.map { $0 * 1000 })
    }
}
