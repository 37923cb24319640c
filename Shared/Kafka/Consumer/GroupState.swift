import Logging
import Synchronization

/// The consumer's group bookkeeping: the current assignment, what to do on a rebalance
/// (commit before partitions are taken away), and coalesced background commits.
/// Rebalance and commit callbacks arrive on the poll thread; `requestCommit` may be
/// called from any task.
final class GroupState: Sendable {
    private struct State {
        /// Weak: the client's callbacks hold this state, so a strong reference would keep
        /// the client (and its librdkafka handle) alive for ever.
        weak var client: RDKafkaClient?
        var assignment: Set<KafkaTopicPartition> = []
        var commits: CommitPacer
    }

    private let state: Mutex<State>
    private let logger: Logger

    init(commitInterval: Duration, logger: Logger) {
        self.state = Mutex(State(commits: CommitPacer(interval: commitInterval)))
        self.logger = logger
    }

    /// Called once the client exists (its callbacks were registered before).
    func attach(_ client: RDKafkaClient) {
        state.withLock { $0.client = client }
    }

    var assignment: Set<KafkaTopicPartition> { state.withLock { $0.assignment } }

    func setAssignment(_ partitions: Set<KafkaTopicPartition>) {
        state.withLock { $0.assignment = partitions }
    }

    /// Offsets were stored: commits them in the background now, or, when a commit is in
    /// flight or began less than the commit interval ago, with the next one (see `CommitPacer`).
    func requestCommit() {
        begin(state.withLock { state in state.commits.stored(at: .now) ? state.client : nil })
    }

    /// The background commit's result (librdkafka's commit callback, on the poll thread).
    func commitFinished(_ error: KafkaError?) {
        if let error {
            logger.warning("Kafka offset commit failed; retrying with the next commit", metadata: [KafkaLogKey.error: "\(error)"])
        }
        begin(state.withLock { state in state.commits.finished(failed: error != nil, at: .now) ? state.client : nil })
    }

    /// The poll thread's look before it waits: begins a commit whose time has come, and
    /// returns how long until a waiting one may begin (nil when none waits).
    func commitIfDue() -> Duration? {
        let (client, delay): (RDKafkaClient?, Duration?) = state.withLock { state in
            let now = ContinuousClock.now
            let begins = state.commits.tick(at: now)
            return (begins ? state.client : nil, state.commits.delay(at: now))
        }
        begin(client)
        return delay
    }

    private func begin(_ client: RDKafkaClient?) {
        guard let client, let error = client.commitStoredOffsets(wait: false) else { return }
        // Refused at once (no callback follows): what it carried waits for a later one
        // (`CommitPacer.finished` never begins a retry at once, so this does not recurse).
        commitFinished(error)
    }

    /// Commits the stored offsets and waits for the broker. Poll thread only.
    func commitSync() {
        guard let client = state.withLock({ $0.client }) else { return }
        if let error = client.commitStoredOffsets(wait: true) {
            logger.warning("Kafka offset commit failed", metadata: [KafkaLogKey.error: "\(error)"])
        }
    }

    /// A rebalance, already applied by the C layer: commit before giving partitions up.
    func rebalance(_ change: RDKafkaRebalance) {
        switch change {
        case .assigned(let partitions):
            state.withLock { $0.assignment.formUnion(partitions) }
            logger.info("Kafka partitions assigned", metadata: [KafkaLogKey.partitions: "\(partitions.sorted(by: Self.order))"])
        case .revoking(let partitions, let lost):
            if !lost { commitSync() }
            state.withLock { $0.assignment.subtract(partitions) }
            logger.info("Kafka partitions revoked", metadata: [KafkaLogKey.partitions: "\(partitions.sorted(by: Self.order))", KafkaLogKey.lost: "\(lost)"])
        case .failed(let error):
            logger.error("Kafka rebalance failed", metadata: [KafkaLogKey.error: "\(error)"])
        case .cleared(let error):
            state.withLock { $0.assignment.removeAll() }
            logger.error("Kafka rebalance failed; the assignment is cleared", metadata: [KafkaLogKey.error: "\(error)"])
        }
    }

    private static func order(_ a: KafkaTopicPartition, _ b: KafkaTopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }
}
