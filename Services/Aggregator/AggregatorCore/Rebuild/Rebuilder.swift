import Foundation
import Kafka
import Logging
import Messaging
import SQLKit
import ServiceLifecycle
import Storage
import Synchronization

/// Rebuilds every projection from the start of the topics: replays them into fresh
/// `rb_` tables (in batches, profiles computed once at the end), and when the replay has
/// reached the live projection's positions on every partition, swaps the new tables in,
/// in one transaction. Reads are served from the live tables meanwhile.
///
/// A `Service`: it waits for `start()` (from `POST /admin/rebuild`) and runs one rebuild
/// at a time.
final class Rebuilder: Service, Sendable {
    /// What `GET /admin/rebuild` shows.
    struct Progress: Sendable, Codable {
        /// `idle`, `running`, `swapping`, `done` or `failed`.
        var state: String
        var applied: Int
        /// Events in the topics when the rebuild started (when the broker could say).
        var total: Int64?
        var eventsPerSecond: Double?
        var secondsLeft: Double?
        var startedAt: Date?
        var finishedAt: Date?
        var error: String?
    }

    private let database: any Database
    private let bus: any MessageBus
    private let topics: [String]
    private let partitions: Int
    private let rules: MergeRules
    private let totalEvents: @Sendable () async -> Int64?
    private let logger: Logger
    private let progress = Mutex(Progress(state: "idle", applied: 0))
    private let requests: AsyncStream<Void>.Continuation
    private let pending: AsyncStream<Void>
    private let batchSize: Int

    init(database: any Database, bus: any MessageBus, topics: [String], partitions: Int, rules: MergeRules, batchSize: Int = 1000,
         totalEvents: @escaping @Sendable () async -> Int64?, logger: Logger) {
        self.database = database
        self.bus = bus
        self.topics = topics
        self.partitions = partitions
        self.rules = rules
        self.batchSize = batchSize
        self.totalEvents = totalEvents
        self.logger = logger
        (pending, requests) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    var current: Progress { progress.withLock { $0 } }

    /// Asks for a rebuild; false when one is already running.
    func start() -> Bool {
        let accepted = progress.withLock { progress in
            guard progress.state != "running" && progress.state != "swapping" else { return false }
            progress = Progress(state: "running", applied: 0, startedAt: Date())
            return true
        }
        if accepted { requests.yield() }
        return accepted
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in self.pending {
                do {
                    try await self.rebuild()
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.error("projection rebuild failed", metadata: [LogKey.error: "\(error)"])
                    self.progress.withLock { $0.state = "failed"; $0.error = "\(error)"; $0.finishedAt = Date() }
                }
            }
        }
    }

    private func rebuild() async throws {
        let started = ContinuousClock.now
        logger.notice("projection rebuild started")
        try await database.transaction { sql in
            try await ProjectionTables.rebuild.drop(in: sql)
            try await ProjectionTables.rebuild.create(in: sql)
        }
        let total = await totalEvents()
        progress.withLock { $0.total = total }

        let batch = Batch()
        let subscription = Subscription(
            groupID: "ensemble-aggregator-rebuild-\(UUID().uuidString.prefix(8).lowercased())",
            partitions: topics.flatMap { topic in (0..<Int32(partitions)).map { KafkaTopicPartition(topic: topic, partition: $0, start: .beginning) } }
        )
        let rules = self.rules
        let database = self.database
        let batchSize = self.batchSize
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await self.bus.consume(subscription) { record in
                    // What the live projection does not apply (not an event it knows) is left out here too.
                    guard let envelope = try? Envelope(record: record), Projector.sources[envelope.messageType] != nil else { return }
                    if batch.add(envelope) >= batchSize { try await self.flush(batch) }
                }
            }
            // Flush what has gathered, and swap in once caught up with the live projection.
            while true {
                try await Task.sleep(for: .milliseconds(50))
                try await self.flush(batch)
                let swapped = try await database.transaction { sql -> Bool in
                    guard try await Self.caughtUp(in: sql) else { return false }
                    try await ProfileBuilder(tables: .rebuild, rules: rules).refreshAll(in: sql)
                    try await ProjectionTables.live.drop(in: sql)
                    try await ProjectionTables.rebuild.rename(to: .live, in: sql)
                    return true
                }
                if swapped { break }
            }
            group.cancelAll()
        }
        let seconds = Double((ContinuousClock.now - started).components.seconds) + Double((ContinuousClock.now - started).components.attoseconds) / 1e18
        progress.withLock { progress in
            progress.state = "done"
            progress.finishedAt = Date()
            progress.eventsPerSecond = Double(progress.applied) / max(seconds, 0.001)
            progress.secondsLeft = 0
        }
        logger.notice("projection rebuild done", metadata: ["events": "\(current.applied)", "seconds": "\(seconds)"])
    }

    /// Applies what the batch holds to the rebuild tables, in one transaction.
    private func flush(_ batch: Batch) async throws {
        let envelopes = batch.take()
        guard !envelopes.isEmpty else { return }
        _ = try await database.transaction { sql in
            try await ProjectionStore.apply(envelopes, tables: .rebuild, in: sql)
        }
        progress.withLock { progress in
            progress.applied += envelopes.count
            if let startedAt = progress.startedAt {
                let rate = Double(progress.applied) / max(Date().timeIntervalSince(startedAt), 0.001)
                progress.eventsPerSecond = rate
                if let total = progress.total { progress.secondsLeft = max(0, Double(total - Int64(progress.applied)) / max(rate, 1)) }
            }
        }
    }

    /// Whether the rebuild tables have reached the live projection's position on every partition.
    private static func caughtUp(in sql: any SQLDatabase) async throws -> Bool {
        let live = try await ProjectionStore.positions(of: .live, in: sql)
        let rebuilt = try await ProjectionStore.positions(of: .rebuild, in: sql)
        return live.allSatisfy { rebuilt[$0.key, default: 0] >= $0.value }
    }

    /// Events read but not applied yet; shared by the partitions' lanes and the flusher.
    final class Batch: Sendable {
        private let state = Mutex<[Envelope]>([])

        /// Adds one; returns how many are waiting.
        func add(_ envelope: Envelope) -> Int {
            state.withLock { $0.append(envelope); return $0.count }
        }

        func take() -> [Envelope] {
            state.withLock { pending in
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
        }
    }
}
