import Foundation
import Synchronization

/// One circuit breaker per participant: after `threshold` technical failures in a row
/// (failure replies or timeouts) the circuit opens for `openDuration`; then one trial
/// command may pass (half-open), and its outcome closes or reopens it.
///
/// A breaker gates a step's normal route only; a fallback route exists for exactly that
/// case and is not blocked. State is per process and starts closed.
public final class CircuitBreakers: Sendable {
    public enum State: String, Sendable, Codable {
        case closed, open, halfOpen
    }

    private struct Breaker {
        var failures = 0
        var openedAt: Date?
        var trialInFlight = false
    }

    private let breakers = Mutex<[String: Breaker]>([:])
    public let threshold: Int
    public let openDuration: TimeInterval

    public init(threshold: Int = 5, openDuration: Duration = .seconds(10)) {
        self.threshold = threshold
        self.openDuration = openDuration.seconds
    }

    /// Whether a command to `participant` may be sent now (taking the half-open trial if so).
    public func allows(_ participant: String, now: Date) -> Bool {
        breakers.withLock { all in
            var breaker = all[participant, default: Breaker()]
            defer { all[participant] = breaker }
            guard let openedAt = breaker.openedAt else { return true }
            guard now.timeIntervalSince(openedAt) >= openDuration, !breaker.trialInFlight else { return false }
            breaker.trialInFlight = true
            return true
        }
    }

    public func recordSuccess(_ participant: String) {
        breakers.withLock { $0[participant] = Breaker() }
    }

    public func recordFailure(_ participant: String, now: Date) {
        breakers.withLock { all in
            var breaker = all[participant, default: Breaker()]
            breaker.failures += 1
            if breaker.trialInFlight || breaker.failures >= threshold {
                breaker.openedAt = now
                breaker.trialInFlight = false
            }
            all[participant] = breaker
        }
    }

    /// When a command to `participant` may be tried again while its circuit is open: the
    /// end of the open duration, or (a half-open trial is in flight) a moment from now.
    public func nextTrial(_ participant: String, now: Date) -> Date {
        breakers.withLock { all in
            guard let openedAt = all[participant]?.openedAt else { return now }
            let end = openedAt.addingTimeInterval(openDuration)
            return end > now ? end : now.addingTimeInterval(min(1, openDuration))
        }
    }

    public func state(_ participant: String, now: Date) -> State {
        breakers.withLock { all in
            guard let openedAt = all[participant]?.openedAt else { return .closed }
            return now.timeIntervalSince(openedAt) >= openDuration ? .halfOpen : .open
        }
    }
}
