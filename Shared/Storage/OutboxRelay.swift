import Logging
import Messaging
import Metrics
import ServiceLifecycle

/// Publishes the outbox, oldest first, and deletes what the bus accepted.
///
/// Writers call `wake()` right after their transaction commits, so a message leaves at
/// once; the relay also looks every `pollInterval` as a safety net (and at start-up, which
/// is how messages written just before a crash get out). On graceful shutdown it drains
/// once more. A publish failure keeps the rows and retries with backoff: nothing is lost,
/// and a message may be published twice, which the consumers' inboxes absorb.
public final class OutboxRelay: Service, Sendable {
    private let database: any Database
    private let bus: any MessageBus
    private let logger: Logger
    private let pollInterval: Duration
    private let batchSize: Int
    private let signal = WakeSignal()
    private let backlog: Gauge
    private let published: Counter

    public init(database: any Database, bus: any MessageBus, service: String, logger: Logger, pollInterval: Duration = .seconds(1), batchSize: Int = 256) {
        self.database = database
        self.bus = bus
        self.logger = logger
        self.pollInterval = pollInterval
        self.batchSize = batchSize
        self.backlog = Gauge(label: "ensemble_outbox_backlog", dimensions: [("service", service)])
        self.published = Counter(label: "ensemble_outbox_published_total", dimensions: [("service", service)])
    }

    /// Asks the relay to publish now, or, inside a group commit (`Database.batch`), as
    /// soon as the batch has committed.
    public func wake() {
        let signal = self.signal
        database.afterCommit { signal.signal() }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                do {
                    try await self.drain()
                    failures = 0
                    await self.signal.wait(timeout: self.pollInterval)
                } catch is CancellationError {
                    return
                } catch {
                    failures += 1
                    if let remaining = try? await self.database.read({ try await Outbox.count(in: $0) }) {
                        self.backlog.record(remaining)
                    }
                    let delay = RetryPolicy(attempts: .max, initialBackoff: .milliseconds(100), multiplier: 2, maxBackoff: .seconds(5)).backoff(after: failures)
                    self.logger.warning("outbox publish failed; retrying", metadata: [LogKey.error: "\(error)", LogKey.retryIn: "\(delay)"])
                    try? await Task.sleep(for: delay)
                }
            }
        }
        // Shutting down: one last attempt for what was committed meanwhile.
        do {
            try await drain()
        } catch {
            logger.warning("outbox not drained at shutdown; it is published after the next start", metadata: [LogKey.error: "\(error)"])
        }
    }

    /// Publishes everything pending; returns how many messages went out.
    @discardableResult
    public func drain() async throws -> Int {
        var total = 0
        while true {
            let count = try await database.dialect == .postgresql ? publishShared() : publishOwn()
            total += count
            published.increment(by: count)
            if count < batchSize { break }
        }
        backlog.record(0)
        return total
    }

    /// One batch from a database only this process writes to (SQLite): read, publish, then
    /// remove, without holding the writer while the bus answers.
    private func publishOwn() async throws -> Int {
        let batch = try await database.read { [batchSize] sql in
            try await Outbox.pending(limit: batchSize, in: sql)
        }
        guard !batch.isEmpty else { return 0 }
        logger.debug("publishing outbox batch", metadata: ["count": "\(batch.count)"])
        try await bus.publish(contentsOf: batch.map(\.message.record))
        let ids = batch.map(\.id)
        // One statement: the rows are published, their removal needs no transaction of its own.
        try await database.autocommit { sql in
            try await Outbox.remove(ids: ids, in: sql)
        }
        return batch.count
    }

    /// One batch from a database several instances share (PostgreSQL): the relays take
    /// turns under an advisory lock, so a row is published by one relay and removed in the
    /// same transaction; one that dies before its commit leaves the rows to the next.
    private func publishShared() async throws -> Int {
        try await database.exclusively(.outbox) { [batchSize, bus, logger] sql in
            let batch = try await Outbox.pending(limit: batchSize, in: sql)
            guard !batch.isEmpty else { return 0 }
            logger.debug("publishing outbox batch", metadata: ["count": "\(batch.count)"])
            try await bus.publish(contentsOf: batch.map(\.message.record))
            try await Outbox.remove(ids: batch.map(\.id), in: sql)
            return batch.count
        }
    }
}
