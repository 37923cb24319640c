import Foundation
import Messaging
import Logging
import Synchronization

/// Applies a `FaultPlan` to the commands a service handles.
public final class FaultInjector: Sendable {
    public enum Decision: Sendable, Equatable {
        case proceed
        case fail(reason: String)
        case drop
    }

    public let plan: FaultPlan
    private let logger: Logger
    private let committed = Mutex(0)
    private let random: @Sendable () -> Double
    private let crash: @Sendable () async throws -> Void

    /// `random` returns values in 0..<1 (tests pass a fixed sequence); `crash` ends the
    /// process (`exitProcess`), or only the service when several share the process
    /// (`stopService`); tests observe it instead.
    public init(
        plan: FaultPlan,
        logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        crash: @escaping @Sendable () async throws -> Void = FaultInjector.exitProcess
    ) {
        self.plan = plan
        self.logger = logger
        self.random = random
        self.crash = crash
    }

    /// Waits the configured latency, then decides whether the command proceeds.
    public func decide(messageType: String) async -> Decision {
        guard let rule = plan.rule(for: messageType) else { return .proceed }
        if rule.latency > .zero {
            try? await Task.sleep(for: rule.latency)
        }
        if rule.dropRate > 0, random() < rule.dropRate {
            logger.warning("fault injection: dropping the command", metadata: [LogKey.messageType: "\(messageType)"])
            return .drop
        }
        if rule.failureRate > 0, random() < rule.failureRate {
            logger.warning("fault injection: failing the command", metadata: [LogKey.messageType: "\(messageType)"])
            return .fail(reason: "injected failure (\(messageType))")
        }
        return .proceed
    }

    /// Ends the process at once, as a crash would.
    public static let exitProcess: @Sendable () async throws -> Void = { _exit(70) }

    /// Fails the service through `failure` (its supervisor restarts it) and never returns:
    /// the command's handler ends by cancellation, before its reply is published.
    public static func stopService(_ failure: ServiceFailure) -> @Sendable () async throws -> Void {
        {
            failure.fail("fault injection: crash-after")
            while true { try await Task.sleep(for: .seconds(60)) }
        }
    }

    /// Called right after a command's transaction committed, before its outcome is published.
    public func committedOne() async throws {
        guard let limit = plan.crashAfter else { return }
        let count = committed.withLock { count in
            count += 1
            return count
        }
        if count >= limit {
            logger.critical("fault injection: crashing before the outbox is published", metadata: ["commands": "\(count)"])
            try await crash()
        }
    }
}
