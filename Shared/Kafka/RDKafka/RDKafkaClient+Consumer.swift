import CRdKafka
import Foundation

/// What one `rd_kafka_consumer_poll` produced.
enum RDKafkaPollResult {
    case message(KafkaConsumerMessage)
    /// The end of a partition was reached (only with `enable.partition.eof`).
    case endOfPartition
    /// A consumer error; `fatal` when the consumer cannot go on.
    case error(KafkaError, fatal: Bool)
}

/// A consumer group's change of assignment, as librdkafka's rebalance callback reports it.
/// The C layer applies it: `assigned` after the partitions were assigned, `revoking`
/// before they are taken away (the application commits then).
enum RDKafkaRebalance {
    case assigned([KafkaTopicPartition])
    case revoking([KafkaTopicPartition], lost: Bool)
    /// Applying the change failed; the assignment stands as it was.
    case failed(KafkaError)
    /// The rebalance failed and every partition was unassigned.
    case cleared(KafkaError)
}

extension RDKafkaClient {
    /// Serves rebalance and commit callbacks from `consumerPoll` (the consumer queue).
    func serveCallbacksFromConsumerQueue() {
        rd_kafka_poll_set_consumer(handle)
    }

    func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = RDKafkaPartitionList(topics.map { KafkaTopicPartition(topic: $0, partition: -1) })
        let err = rd_kafka_subscribe(handle, list.pointer)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.librdkafka(.consume, err, context: "subscribe to \(topics.joined(separator: ", "))")
        }
    }

    func assign(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let list = RDKafkaPartitionList(partitions)
        let err = rd_kafka_assign(handle, list.pointer)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.librdkafka(.consume, err, context: "assign \(partitions)")
        }
    }

    /// Waits up to `timeoutMilliseconds` for a message or an event. Blocks: poll thread only.
    func consumerPoll(timeoutMilliseconds: Int32) -> RDKafkaPollResult? {
        guard let raw = rd_kafka_consumer_poll(handle, timeoutMilliseconds) else { return nil }
        defer { rd_kafka_message_destroy(raw) }
        let err = raw.pointee.err
        if err == RD_KAFKA_RESP_ERR_NO_ERROR { return .message(Self.message(raw)) }
        if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return .endOfPartition }
        let topic = raw.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "-"
        let text = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { text.deallocate() }
        if rd_kafka_fatal_error(handle, text, 512) != RD_KAFKA_RESP_ERR_NO_ERROR {
            return .error(KafkaError.librdkafka(.consume, err, context: "fatal consumer error on \(topic): \(String(cString: text))"), fatal: true)
        }
        return .error(KafkaError.librdkafka(.consume, err, context: "consumer error on \(topic)"), fatal: false)
    }

    /// Stores the offset after `offset` for a commit; false when the partition is not
    /// assigned to this consumer any more.
    func storeOffset(topic: String, partition: Int32, next offset: Int64) -> Result<Void, KafkaError> {
        let list = RDKafkaPartitionList([KafkaTopicPartition(topic: topic, partition: partition, start: .offset(offset))])
        let err = rd_kafka_offsets_store(handle, list.pointer)
        let partitionError = list.pointer.pointee.elems[0].err
        let cause = err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : partitionError
        guard cause == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return .failure(KafkaError.librdkafka(.commit, cause, context: "store offset \(topic)[\(partition)]@\(offset)"))
        }
        return .success(())
    }

    /// Commits the stored offsets: in the background (`wait: false`, the commit callback
    /// reports the result) or blocking until the broker answered. Nothing to commit is no error.
    @discardableResult
    func commitStoredOffsets(wait: Bool) -> KafkaError? {
        let err = rd_kafka_commit(handle, nil, wait ? 0 : 1)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR__NO_OFFSET else { return nil }
        return KafkaError.librdkafka(.commit, err, context: "offset commit")
    }

    func pause(_ partitions: [KafkaTopicPartition]) -> KafkaError? {
        let list = RDKafkaPartitionList(partitions)
        let err = rd_kafka_pause_partitions(handle, list.pointer)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError.librdkafka(.consume, err, context: "pause \(partitions)")
    }

    func resume(_ partitions: [KafkaTopicPartition]) -> KafkaError? {
        let list = RDKafkaPartitionList(partitions)
        let err = rd_kafka_resume_partitions(handle, list.pointer)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError.librdkafka(.consume, err, context: "resume \(partitions)")
    }

    /// Makes librdkafka's broker thread look at its partitions now. librdkafka resumes a
    /// paused partition without waking the broker thread that fetches it, which then starts
    /// fetching only when it next wakes on its own, up to a second later; a request is a
    /// message to a broker thread, which wakes it. The request is a metadata request for
    /// the topics this client knows (on a single broker, the thread that fetches).
    /// Blocks until the broker answers or `timeoutMilliseconds` pass: poll thread only.
    func nudgeFetchers(timeoutMilliseconds: Int32) -> KafkaError? {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 0, nil, &metadata, timeoutMilliseconds)
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError.librdkafka(.consume, err, context: "metadata request after resume")
    }

    /// Interrupts a blocking `consumerPoll`, which waits on the consumer queue.
    func wakeUpConsumer() {
        guard let queue = rd_kafka_queue_get_consumer(handle) else { return }
        rd_kafka_queue_yield(queue)
        rd_kafka_queue_destroy(queue)
    }

    /// Leaves the group (revoking, which commits through the rebalance callback). Blocks.
    func closeConsumer() -> KafkaError? {
        let err = rd_kafka_consumer_close(handle)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError.librdkafka(.consume, err, context: "consumer close")
    }

    /// Copies a librdkafka message into a `KafkaConsumerMessage`.
    private static func message(_ raw: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaConsumerMessage {
        let record = raw.pointee
        let topic = record.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let key = record.key.map { Data(bytes: $0, count: record.key_len) }
        let value = record.payload.map { Data(bytes: $0, count: record.len) } ?? Data()
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(raw, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let name {
                    headers.append(KafkaHeader(key: String(cString: name), value: bytes.map { Data(bytes: $0, count: size) }))
                }
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(raw, &timestampType)
        let timestamp = milliseconds >= 0 ? Date(timeIntervalSince1970: Double(milliseconds) / 1000) : nil
        return KafkaConsumerMessage(
            topic: topic, partition: record.partition, offset: record.offset,
            key: key, value: value, headers: headers, timestamp: timestamp
        )
    }
}

/// librdkafka's rebalance callback: applies the change (incrementally under the
/// cooperative protocol), telling the Swift side after an assignment and before a revocation.
func rdKafkaApplyRebalance(_ handle: OpaquePointer, _ event: rd_kafka_resp_err_t, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>, notify: (RDKafkaRebalance) -> Void) {
    let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"
    let changed = RDKafkaPartitionList.partitions(in: partitions)
    switch event {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        if cooperative {
            if let error = rd_kafka_incremental_assign(handle, partitions) {
                notify(.failed(KafkaError.consuming(.consume, error, context: "incremental assign")))
            }
        } else {
            rd_kafka_assign(handle, partitions)
        }
        notify(.assigned(changed))
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        notify(.revoking(changed, lost: rd_kafka_assignment_lost(handle) != 0))
        if cooperative {
            if let error = rd_kafka_incremental_unassign(handle, partitions) {
                notify(.failed(KafkaError.consuming(.consume, error, context: "incremental unassign")))
            }
        } else {
            rd_kafka_assign(handle, nil)
        }
    default:
        rd_kafka_assign(handle, nil)
        notify(.cleared(KafkaError.librdkafka(.consume, event, context: "rebalance")))
    }
}
