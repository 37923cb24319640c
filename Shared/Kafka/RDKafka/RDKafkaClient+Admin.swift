import CRdKafka

/// Topic administration through librdkafka's admin API.
extension RDKafkaClient {
    /// Creates the topics that do not exist yet; returns the ones it created. Blocks.
    func createTopics(_ topics: [KafkaTopicSpec], timeout: Duration) throws(KafkaError) -> [String] {
        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { errorText.deallocate() }
        var newTopics: [OpaquePointer?] = []
        defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
        for topic in topics {
            guard let newTopic = rd_kafka_NewTopic_new(topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), errorText, 512) else {
                throw KafkaError(code: .admin, message: "topic \(topic.name): \(String(cString: errorText))")
            }
            newTopics.append(newTopic)
        }
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, errorText, 512)
        rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, errorText, 512)

        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(handle, buffer.baseAddress, buffer.count, options, queue)
        }
        // The request timeout bounds the wait; the margin covers connection set-up.
        guard let event = rd_kafka_queue_poll(queue, milliseconds + 1000) else {
            throw KafkaError(code: .timeout, message: "creating topics took longer than \(timeout)", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.librdkafka(.admin, eventError, context: "create topics")
        }
        guard let result = rd_kafka_event_CreateTopics_result(event) else {
            throw KafkaError(code: .admin, message: "create topics: unexpected event \(String(cString: rd_kafka_event_name(event)))")
        }
        var count = 0
        guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [] }
        var created: [String] = []
        for index in 0..<count {
            let topicResult = results[index]
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let err = rd_kafka_topic_result_error(topicResult)
            switch err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                created.append(name)
            case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
                continue
            default:
                let detail = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) }
                throw KafkaError.librdkafka(.admin, err, context: "create topic \(name)" + (detail.map { " (\($0))" } ?? ""))
            }
        }
        return created
    }

    /// Deletes `topics`, ignoring the ones that do not exist; returns the ones it deleted. Blocks.
    func deleteTopics(_ topics: [String], timeout: Duration) throws(KafkaError) -> [String] {
        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { errorText.deallocate() }
        var deletions: [OpaquePointer?] = topics.map { rd_kafka_DeleteTopic_new($0) }
        defer { deletions.forEach { rd_kafka_DeleteTopic_destroy($0) } }
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_DELETETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, errorText, 512)
        rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, errorText, 512)

        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        deletions.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_DeleteTopics(handle, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, milliseconds + 1000) else {
            throw KafkaError(code: .timeout, message: "deleting topics took longer than \(timeout)", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.librdkafka(.admin, eventError, context: "delete topics")
        }
        guard let result = rd_kafka_event_DeleteTopics_result(event) else {
            throw KafkaError(code: .admin, message: "delete topics: unexpected event \(String(cString: rd_kafka_event_name(event)))")
        }
        var count = 0
        guard let results = rd_kafka_DeleteTopics_result_topics(result, &count) else { return [] }
        var deleted: [String] = []
        for index in 0..<count {
            let topicResult = results[index]
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            let err = rd_kafka_topic_result_error(topicResult)
            switch err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                deleted.append(name)
            case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
                continue
            default:
                throw KafkaError.librdkafka(.admin, err, context: "delete topic \(name)")
            }
        }
        return deleted
    }
}

extension RDKafkaClient {
    /// The low and high watermarks of one partition (the first and the next offset), asked
    /// of the partition's leader. Blocks up to `timeoutMilliseconds`.
    func watermarks(topic: String, partition: Int32, timeoutMilliseconds: Int32) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.librdkafka(.admin, err, context: "watermarks of \(topic)[\(partition)]")
        }
        return (low, high)
    }
}

extension RDKafkaClient {
    /// The offsets `group` committed, per partition (partitions without a commit are left
    /// out). Blocks.
    func committedOffsets(group: String, timeout: Duration) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let errorText = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
        defer { errorText.deallocate() }
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, errorText, 512)
        var request: OpaquePointer? = rd_kafka_ListConsumerGroupOffsets_new(group, nil)
        defer { rd_kafka_ListConsumerGroupOffsets_destroy(request) }

        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        withUnsafeMutablePointer(to: &request) { rd_kafka_ListConsumerGroupOffsets(handle, $0, 1, options, queue) }
        guard let event = rd_kafka_queue_poll(queue, milliseconds + 1000) else {
            throw KafkaError(code: .timeout, message: "listing the offsets of group \(group) took longer than \(timeout)", isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.librdkafka(.admin, eventError, context: "offsets of group \(group)")
        }
        guard let result = rd_kafka_event_ListConsumerGroupOffsets_result(event) else {
            throw KafkaError(code: .admin, message: "group offsets: unexpected event \(String(cString: rd_kafka_event_name(event)))")
        }
        var count = 0
        guard let groups = rd_kafka_ListConsumerGroupOffsets_result_groups(result, &count), count > 0 else { return [:] }
        if let error = rd_kafka_group_result_error(groups[0]) {
            throw KafkaError(code: .admin, message: "offsets of group \(group): \(String(cString: rd_kafka_error_string(error)))")
        }
        guard let list = rd_kafka_group_result_partitions(groups[0]) else { return [:] }
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR, element.offset >= 0 else { continue }
            offsets[KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)] = element.offset
        }
        return offsets
    }
}
