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
        var commitInFlight = false
        var commitAgain = false
    }

    private let state = Mutex<State>(State())
    private let logger: Logger

    init(logger: Logger) {
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

    /// Commits the stored offsets now unless a commit is in flight, in which case one more
    /// commit follows when it finishes: at most one commit request is outstanding.
    func requestCommit() {
        let client: RDKafkaClient? = state.withLock { state in
            if state.commitInFlight {
                state.commitAgain = true
                return nil
            }
            state.commitInFlight = true
            return state.client
        }
        client?.commitStoredOffsets(wait: false)
    }

    func commitFinished(_ error: KafkaError?) {
        if let error {
            logger.warning("Kafka offset commit failed; retrying with the next commit", metadata: [KafkaLogKey.error: "\(error)"])
        }
        let client: RDKafkaClient? = state.withLock { state in
            guard state.commitAgain else {
                state.commitInFlight = false
                return nil
            }
            state.commitAgain = false
            return state.client
        }
        client?.commitStoredOffsets(wait: false)
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
