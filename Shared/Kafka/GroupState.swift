import CRdKafka
import Logging
import Synchronization

/// The consumer's group bookkeeping: the current assignment, rebalance handling and
/// coalesced background commits. Rebalance and commit callbacks arrive on the poll thread;
/// `requestCommit` may be called from any task.
final class GroupState: Sendable {
    private struct State {
        var handle: RDKafkaHandle?
        var assignment: Set<KafkaTopicPartition> = []
        var commitInFlight = false
        var commitAgain = false
    }

    private let state = Mutex<State>(State())
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func attach(_ handle: OpaquePointer) {
        state.withLock { $0.handle = RDKafkaHandle(pointer: handle) }
    }

    var assignment: Set<KafkaTopicPartition> { state.withLock { $0.assignment } }

    func setAssignment(_ partitions: Set<KafkaTopicPartition>) {
        state.withLock { $0.assignment = partitions }
    }

    /// Commits the stored offsets now unless a commit is in flight, in which case one more
    /// commit follows when it finishes: at most one commit request is outstanding.
    func requestCommit() {
        let handle: RDKafkaHandle? = state.withLock { state in
            if state.commitInFlight {
                state.commitAgain = true
                return nil
            }
            state.commitInFlight = true
            return state.handle
        }
        if let handle { rd_kafka_commit(handle.pointer, nil, 1) }
    }

    func commitFinished(result: rd_kafka_resp_err_t, offsets: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__NO_OFFSET {
            logger.warning("Kafka offset commit failed: \(String(cString: rd_kafka_err2str(result))); retrying with the next commit")
        }
        let handle: RDKafkaHandle? = state.withLock { state in
            guard state.commitAgain else {
                state.commitInFlight = false
                return nil
            }
            state.commitAgain = false
            return state.handle
        }
        if let handle { rd_kafka_commit(handle.pointer, nil, 1) }
    }

    /// Commits the stored offsets and waits for the broker. Poll thread only.
    func commitSync() {
        guard let handle = state.withLock({ $0.handle }) else { return }
        let err = rd_kafka_commit(handle.pointer, nil, 0)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET {
            logger.warning("Kafka offset commit failed: \(String(cString: rd_kafka_err2str(err)))")
        }
    }

    /// librdkafka's rebalance callback: commit before giving partitions up, then apply the change.
    func rebalance(handle: OpaquePointer, event: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"
        let changed = Set(RDKafkaPartitionList.partitions(in: partitions))
        switch event {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_assign(handle, partitions) {
                    logger.error("\(KafkaError.consuming(.consume, error, context: "incremental assign"))")
                }
            } else {
                rd_kafka_assign(handle, partitions)
            }
            state.withLock { $0.assignment.formUnion(changed) }
            logger.info("Kafka partitions assigned", metadata: ["kafka.partitions": "\(changed.sorted(by: Self.order))"])
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            if rd_kafka_assignment_lost(handle) == 0 {
                commitSync()
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(handle, partitions) {
                    logger.error("\(KafkaError.consuming(.consume, error, context: "incremental unassign"))")
                }
            } else {
                rd_kafka_assign(handle, nil)
            }
            state.withLock { $0.assignment.subtract(changed) }
            logger.info("Kafka partitions revoked", metadata: ["kafka.partitions": "\(changed.sorted(by: Self.order))"])
        default:
            logger.error("Kafka rebalance failed: \(String(cString: rd_kafka_err2str(event)))")
            rd_kafka_assign(handle, nil)
            state.withLock { $0.assignment.removeAll() }
        }
    }

    private static func order(_ a: KafkaTopicPartition, _ b: KafkaTopicPartition) -> Bool {
        (a.topic, a.partition) < (b.topic, b.partition)
    }
}
