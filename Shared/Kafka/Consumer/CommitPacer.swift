/// When a consumer commits its stored offsets: at most one commit request outstanding,
/// and at most one begun per `interval`; what is handled meanwhile goes with the next.
///
/// Under load every lane stores an offset after each batch, and a commit per store was the
/// broker's most frequent request (Docs/performance.md). Pacing costs nothing in safety:
/// offsets are stored only after the handler's effects are durable, and a crash reads
/// again at most `interval` more of handled records, which the inboxes absorb.
///
/// A value driven with explicit instants, so that tests control time; `GroupState` holds
/// it under its lock and acts on what it returns.
struct CommitPacer: Sendable {
    let interval: Duration
    /// Offsets were stored since the last commit began.
    private(set) var wanted = false
    private(set) var inFlight = false
    private var lastBegun: ContinuousClock.Instant?
    /// Whether the last commit failed: the next waits at least `retryGap`.
    private var lastFailed = false
    /// The least time between a failed commit and its retry.
    static let retryGap: Duration = .milliseconds(100)

    /// How long after the last commit began the next may begin.
    private var gap: Duration { lastFailed ? max(interval, Self.retryGap) : interval }

    init(interval: Duration) {
        self.interval = max(interval, .zero)
    }

    /// Offsets were stored. Returns whether a commit begins now.
    mutating func stored(at now: ContinuousClock.Instant) -> Bool {
        wanted = true
        return beginIfDue(at: now)
    }

    /// The outstanding commit finished. Returns whether the next commit begins now.
    ///
    /// When it failed, what it carried is wanted again, but not before `retryGap` has
    /// passed since it began (and never at once): a commit refused on the spot must not be
    /// retried in a loop, nor a failing broker asked every millisecond.
    mutating func finished(failed: Bool, at now: ContinuousClock.Instant) -> Bool {
        inFlight = false
        lastFailed = failed
        guard !failed else {
            wanted = true
            return false
        }
        return beginIfDue(at: now)
    }

    /// The poll thread's look: returns whether a waiting commit begins now.
    mutating func tick(at now: ContinuousClock.Instant) -> Bool {
        beginIfDue(at: now)
    }

    /// How long until a waiting commit may begin; nil when none waits or one is in flight.
    func delay(at now: ContinuousClock.Instant) -> Duration? {
        guard wanted, !inFlight else { return nil }
        guard let lastBegun else { return .zero }
        return max(.zero, lastBegun + gap - now)
    }

    private mutating func beginIfDue(at now: ContinuousClock.Instant) -> Bool {
        guard wanted, !inFlight else { return false }
        if let lastBegun, now - lastBegun < gap { return false }
        wanted = false
        inFlight = true
        lastBegun = now
        return true
    }
}
