import Foundation
import Synchronization

/// How a route's circuit breaker behaves: `threshold` technical failures in a row (failure
/// replies or timeouts) open it for `openSeconds`; then `halfOpenTrials` commands may pass,
/// and as many successes close it while one failure opens it again.
public struct BreakerPolicy: Sendable, Hashable, Codable {
    public var threshold: Int
    public var openSeconds: Double
    public var halfOpenTrials: Int

    public init(threshold: Int = 5, openSeconds: Double = 10, halfOpenTrials: Int = 1) {
        self.threshold = threshold
        self.openSeconds = openSeconds
        self.halfOpenTrials = halfOpenTrials
    }

    public static let standard = BreakerPolicy()

    enum CodingKeys: String, CodingKey { case threshold, openSeconds, halfOpenTrials }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let standard = BreakerPolicy.standard
        self.init(
            threshold: try container.decodeIfPresent(Int.self, forKey: .threshold) ?? standard.threshold,
            openSeconds: try container.decodeIfPresent(Double.self, forKey: .openSeconds) ?? standard.openSeconds,
            halfOpenTrials: try container.decodeIfPresent(Int.self, forKey: .halfOpenTrials) ?? standard.halfOpenTrials
        )
    }
}

/// One route's breaker, as stored in the orchestrator's database.
public struct BreakerRecord: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        case closed
        case open
        case halfOpen = "half-open"
    }

    public var route: String
    public var policy: BreakerPolicy
    /// Technical failures in a row while closed.
    public var failures: Int = 0
    /// When the circuit last opened; nil while closed.
    public var openedAt: Date?
    /// Trials let through while half-open, each until its lease runs out (its reply may be lost).
    public var trialLeases: [Date] = []
    /// Successful trials since the circuit went half-open.
    public var trialSuccesses: Int = 0
    /// The state last reported (logged, evented); time alone turns open into half-open,
    /// which is reported with the next change.
    public var reported: State = .closed
    public var changedAt: Date?

    public init(route: String, policy: BreakerPolicy) {
        self.route = route
        self.policy = policy
    }

    public func state(at now: Date) -> State {
        guard let openedAt else { return .closed }
        return now.timeIntervalSince(openedAt) >= policy.openSeconds ? .halfOpen : .open
    }

    /// When the open period ends (nil while closed).
    public var trialAt: Date? { openedAt?.addingTimeInterval(policy.openSeconds) }
}

/// A change of a route's circuit, for the log, the metrics and `orchestrator.events`.
public struct BreakerTransition: Sendable, Hashable {
    public var route: String
    public var from: BreakerRecord.State
    public var to: BreakerRecord.State
    public var at: Date
    public var failures: Int
}

/// One circuit breaker per **route**: the participant and the way a step reaches it, as
/// the saga definition names it (`payment/primary`, `payment/backup`, or by default
/// `<participant>/<command>`), so one failing processor opens its own circuit and another
/// command's success cannot close it.
///
/// This is the working set the engine consults. `SagaRunner` loads it from the database at
/// the start of every saga transaction and stores what changed in the same transaction, so
/// open circuits survive a restart and every orchestrator on the database sees the same
/// state. Without a runner (unit tests) it is simply in memory.
public final class CircuitBreakers: Sendable {
    private struct Book {
        var records: [String: BreakerRecord] = [:]
        var dirty: Set<String> = []
        var transitions: [BreakerTransition] = []
    }

    private let book = Mutex(Book())
    /// The policy of a route the definition gives none for.
    public let defaultPolicy: BreakerPolicy

    public init(defaultPolicy: BreakerPolicy = .standard) {
        self.defaultPolicy = defaultPolicy
    }

    /// Breakers with the standard policy but these figures (tests).
    public convenience init(threshold: Int, openDuration: Duration, halfOpenTrials: Int = 1) {
        self.init(defaultPolicy: BreakerPolicy(threshold: threshold, openSeconds: openDuration.seconds, halfOpenTrials: halfOpenTrials))
    }

    /// Whether a command may take `route` now. While half-open it hands out a trial lease
    /// (up to the policy's trials) that lasts `lease` seconds.
    public func allows(_ route: String, policy: BreakerPolicy?, now: Date, lease: TimeInterval) -> Bool {
        change(route, policy: policy, now: now) { record in
            switch record.state(at: now) {
            case .closed:
                return true
            case .open:
                return false
            case .halfOpen:
                record.trialLeases.removeAll { $0 <= now }
                guard record.trialLeases.count + record.trialSuccesses < record.policy.halfOpenTrials else { return false }
                record.trialLeases.append(now.addingTimeInterval(lease))
                return true
            }
        }
    }

    public func recordSuccess(_ route: String, now: Date) {
        change(route, policy: nil, now: now) { record in
            switch record.state(at: now) {
            case .closed:
                record.failures = 0
            case .open:
                // A late answer from before the circuit opened: no news about now.
                break
            case .halfOpen:
                if !record.trialLeases.isEmpty { record.trialLeases.removeFirst() }
                record.trialSuccesses += 1
                if record.trialSuccesses >= record.policy.halfOpenTrials {
                    record.openedAt = nil
                    record.failures = 0
                    record.trialLeases = []
                    record.trialSuccesses = 0
                }
            }
        }
    }

    public func recordFailure(_ route: String, policy: BreakerPolicy?, now: Date) {
        change(route, policy: policy, now: now) { record in
            switch record.state(at: now) {
            case .closed:
                record.failures += 1
                if record.failures >= record.policy.threshold { record.openedAt = now }
            case .open:
                break
            case .halfOpen:
                record.failures += 1
                record.openedAt = now
                record.trialLeases = []
                record.trialSuccesses = 0
            }
        }
    }

    /// When a command may be tried on `route` again: the end of the open period, or (the
    /// trials are taken) a moment from now.
    public func nextTrial(_ route: String, now: Date) -> Date {
        book.withLock { book in
            guard let record = book.records[route], let trialAt = record.trialAt else { return now }
            return trialAt > now ? trialAt : now.addingTimeInterval(min(1, record.policy.openSeconds))
        }
    }

    public func state(_ route: String, now: Date) -> BreakerRecord.State {
        book.withLock { $0.records[route]?.state(at: now) ?? .closed }
    }

    // MARK: - The working set and the database

    /// Every route's record.
    public var records: [BreakerRecord] {
        book.withLock { Array($0.records.values) }.sorted { $0.route < $1.route }
    }

    /// Replaces the working set with what the database holds.
    public func load(_ records: [BreakerRecord]) {
        book.withLock { book in
            book.records = Dictionary(records.map { ($0.route, $0) }, uniquingKeysWith: { $1 })
            book.dirty = []
            book.transitions = []
        }
    }

    /// The records changed since the last `load` or `takeChanges`, and the state changes
    /// among them.
    public func takeChanges() -> (records: [BreakerRecord], transitions: [BreakerTransition]) {
        book.withLock { book in
            defer {
                book.dirty = []
                book.transitions = []
            }
            return (book.dirty.compactMap { book.records[$0] }.sorted { $0.route < $1.route }, book.transitions)
        }
    }

    private func change<T>(_ route: String, policy: BreakerPolicy?, now: Date, _ body: (inout BreakerRecord) -> T) -> T {
        book.withLock { book in
            var record = book.records[route] ?? BreakerRecord(route: route, policy: policy ?? defaultPolicy)
            if let policy { record.policy = policy }
            let before = record
            let result = body(&record)
            let stateAfter = record.state(at: now)
            if stateAfter != record.reported || (stateAfter == .open && record.openedAt != before.openedAt && before.openedAt != nil) {
                book.transitions.append(BreakerTransition(route: route, from: record.reported, to: stateAfter, at: now, failures: record.failures))
                record.reported = stateAfter
                record.changedAt = now
            }
            if record != before || book.records[route] == nil {
                book.records[route] = record
                book.dirty.insert(route)
            }
            return result
        }
    }
}
