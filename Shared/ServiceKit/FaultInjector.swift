import Foundation
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
    private let crash: @Sendable () -> Void

    /// `random` returns values in 0..<1 (tests pass a fixed sequence); `crash` ends the
    /// process (tests observe it instead).
    public init(
        plan: FaultPlan,
        logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        crash: @escaping @Sendable () -> Void = { _exit(70) }
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
            logger.warning("fault injection: dropping the command", metadata: ["message.type": "\(messageType)"])
            return .drop
        }
        if rule.failureRate > 0, random() < rule.failureRate {
            logger.warning("fault injection: failing the command", metadata: ["message.type": "\(messageType)"])
            return .fail(reason: "injected failure (\(messageType))")
        }
        return .proceed
    }

    /// Called right after a command's transaction committed, before its outcome is published.
    public func committedOne() {
        guard let limit = plan.crashAfter else { return }
        let count = committed.withLock { count in
            count += 1
            return count
        }
        if count >= limit {
            logger.critical("fault injection: crashing after \(count) commands, before the outbox is published")
            crash()
        }
    }
}
