import Messaging
import Logging
import Metrics
import ServiceLifecycle

/// Runs one service's parts (its consumer, relay, HTTP server, ...) as a group and, when
/// the group fails, restarts it with backoff, so that in a process running several
/// services (`ensemble up`) one service's fatal error stops only that service.
///
/// The first run uses the parts opened at start-up (where a failure is a start-up error);
/// every restart opens them again with `reopen`. A restart that fails is retried with the
/// same backoff. Graceful shutdown of the parent group reaches the parts and ends the loop.
public struct SupervisedService: Service {
    public let name: String
    private let first: [any Service]
    private let reopen: @Sendable () async throws -> [any Service]
    private let policy: RestartPolicy
    private let logger: Logger

    public init(name: String, first: [any Service], policy: RestartPolicy = .standard, logger: Logger, reopen: @escaping @Sendable () async throws -> [any Service]) {
        self.name = name
        self.first = first
        self.reopen = reopen
        self.policy = policy
        var logger = logger
        logger[metadataKey: LogKey.service] = "\(name)"
        self.logger = logger
    }

    public func run() async throws {
        var parts: [any Service]? = first
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let started = ContinuousClock.now
            do {
                let services = if let parts { parts } else { try await reopen() }
                parts = nil
                if failures > 0 { logger.notice("service restarted", metadata: [LogKey.restarts: "\(failures)"]) }
                let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
                try await group.run()
                // A part that returns on its own is a failure too, unless the process is stopping.
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                throw ServiceKitError(code: .serviceFailed, message: "\(name) stopped by itself")
            } catch let stopped as ServiceStopped {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                logger.warning("service stopped on purpose; starting it again later", metadata: [LogKey.reason: "\(stopped.reason)", LogKey.restartIn: "\(stopped.downFor)"])
                await Self.sleep(stopped.downFor)
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                if ContinuousClock.now - started >= policy.healthyAfter { failures = 0 }
                failures += 1
                let delay = policy.backoff(after: failures)
                logger.error("service failed; restarting it", metadata: [
                    LogKey.error: "\(error)", LogKey.restartIn: "\(delay)", LogKey.restarts: "\(failures)",
                ])
                Counter(label: "ensemble_service_restarts_total", dimensions: [("service", name)]).increment()
                await Self.sleep(delay)
            }
        }
    }

    /// Sleeps `delay`, or less on cancellation or graceful shutdown.
    static func sleep(_ delay: Duration) async {
        await cancelWhenGracefulShutdown {
            try? await Task.sleep(for: delay)
        }
    }
}

/// When to restart a failed service: exponential backoff, reset once the service ran
/// `healthyAfter` without failing.
public struct RestartPolicy: Sendable, Hashable {
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var healthyAfter: Duration

    public init(initialBackoff: Duration = .milliseconds(500), maxBackoff: Duration = .seconds(30), healthyAfter: Duration = .seconds(60)) {
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.healthyAfter = healthyAfter
    }

    public static let standard = RestartPolicy()

    /// The wait before restart number `restart` (1-based): 0.5 s, 1 s, 2 s, ... up to `maxBackoff`.
    public func backoff(after restart: Int) -> Duration {
        var delay = initialBackoff
        for _ in 1..<max(1, restart) where delay < maxBackoff { delay *= 2 }
        return min(delay, maxBackoff)
    }
}
