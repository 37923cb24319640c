/// When a quiet consumer stops fetching, and when it fetches again.
///
/// A consumer that has received nothing for `KafkaIdleBackoff.quietAfter` pauses every
/// partition it owns ("dozes"): librdkafka then sends no fetch requests for it. It wakes
/// when a producer in the same process produces (the `KafkaDoorbell`), when the
/// application resumes a partition, when records arrive anyway (a partition assigned while
/// dozing), and, for producers elsewhere, every `peekEvery` for `peekFor`: long enough
/// for a fetch or two, after which it dozes again unless records came. The peek also
/// bounds a ring that races the start of a doze.
///
/// The application's own pauses (a lane that is behind) are kept apart: waking never
/// resumes a partition the application paused, and the application resuming one while the
/// consumer dozes wakes it.
///
/// A value driven with explicit instants, so that tests control time; `KafkaConsumer`
/// holds it under a lock and makes the pause and resume calls it returns.
struct FetchDoze: Sendable {
    enum Action: Equatable {
        case pause(Set<KafkaTopicPartition>)
        case resume(Set<KafkaTopicPartition>)
    }

    let settings: KafkaIdleBackoff
    private(set) var dozing = false
    /// Partitions the application paused and has not resumed.
    private(set) var pausedByApplication: Set<KafkaTopicPartition> = []
    /// Awake: when the last records (or the last wake-up) came; the consumer dozes
    /// `quietAfter` later. A peek sets it back so that it dozes `peekFor` after the peek.
    private var lastActivity: ContinuousClock.Instant
    /// Dozing: when the next peek begins.
    private var peekAt: ContinuousClock.Instant
    /// The assignment at the last look: a partition newly assigned counts as activity, so
    /// that it gets `quietAfter` to look up its offset and fetch before any doze (a group
    /// join takes seconds; dozing at once left a new member's first fetch to short peeks).
    private var known: Set<KafkaTopicPartition> = []

    init(settings: KafkaIdleBackoff, now: ContinuousClock.Instant) {
        self.settings = settings
        self.lastActivity = now
        self.peekAt = now
    }

    /// The poll thread's look. Begins a doze once the consumer has been quiet long enough
    /// (and owns partitions), or a peek once a doze has lasted `peekEvery`.
    mutating func tick(at now: ContinuousClock.Instant, assignment: Set<KafkaTopicPartition>) -> Action? {
        if !assignment.isSubset(of: known) {
            known = assignment
            return wake(at: now, assignment: assignment)
        }
        known = assignment
        if dozing {
            guard now >= peekAt else { return nil }
            dozing = false
            // Dozes again `peekFor` from now, unless records come.
            lastActivity = now - settings.quietAfter + settings.peekFor
            return resumable(assignment)
        }
        guard !assignment.isEmpty, now - lastActivity >= settings.quietAfter else { return nil }
        dozing = true
        peekAt = now + settings.peekEvery
        return .pause(assignment)
    }

    /// Records arrived, or the application just caught up with those handed out: either
    /// way the consumer is not quiet.
    mutating func active(at now: ContinuousClock.Instant, assignment: Set<KafkaTopicPartition>) -> Action? {
        wake(at: now, assignment: assignment)
    }

    /// A producer in this process produced: records may be on their way.
    mutating func rung(at now: ContinuousClock.Instant, assignment: Set<KafkaTopicPartition>) -> Action? {
        wake(at: now, assignment: assignment)
    }

    /// The application pauses `partitions` (it is behind on them).
    mutating func applicationPaused(_ partitions: Set<KafkaTopicPartition>) -> Action {
        pausedByApplication.formUnion(partitions)
        return .pause(partitions)
    }

    /// The application resumes `partitions`. While dozing this wakes the consumer, since
    /// records may be waiting behind the partition it held back.
    mutating func applicationResumed(
        _ partitions: Set<KafkaTopicPartition>, at now: ContinuousClock.Instant, assignment: Set<KafkaTopicPartition>
    ) -> Action? {
        pausedByApplication.subtract(partitions)
        guard dozing else { return partitions.isEmpty ? nil : .resume(partitions) }
        return wake(at: now, assignment: assignment)
    }

    /// How long until `tick` has something to do.
    func delay(at now: ContinuousClock.Instant) -> Duration {
        max(.zero, (dozing ? peekAt : lastActivity + settings.quietAfter) - now)
    }

    private mutating func wake(at now: ContinuousClock.Instant, assignment: Set<KafkaTopicPartition>) -> Action? {
        lastActivity = now
        guard dozing else { return nil }
        dozing = false
        return resumable(assignment)
    }

    private func resumable(_ assignment: Set<KafkaTopicPartition>) -> Action? {
        let partitions = assignment.subtracting(pausedByApplication)
        return partitions.isEmpty ? nil : .resume(partitions)
    }
}

/// How a quiet consumer backs off (see `FetchDoze`). On a broker that holds an empty fetch
/// for its whole `fetch.wait.max.ms` (Tansu, the embedded broker), every idle consumer
/// otherwise sends a fetch per wait: 7 groups at 20 ms cost the broker about 0.13 of a
/// core doing nothing (Docs/performance.md).
public struct KafkaIdleBackoff: Sendable, Hashable {
    /// How long without records before the consumer stops fetching.
    public var quietAfter: Duration
    /// While dozing, how often it looks anyway, for producers in other processes: the most
    /// their first record after a quiet spell waits.
    public var peekEvery: Duration
    /// How long a look lasts.
    public var peekFor: Duration

    public init(quietAfter: Duration = .seconds(1), peekEvery: Duration = .seconds(1), peekFor: Duration = .milliseconds(50)) {
        self.quietAfter = quietAfter
        self.peekEvery = peekEvery
        self.peekFor = min(peekFor, quietAfter)
    }

    public static let standard = KafkaIdleBackoff()
}
