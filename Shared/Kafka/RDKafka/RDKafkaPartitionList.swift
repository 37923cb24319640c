import CRdKafka

/// An owned `rd_kafka_topic_partition_list_t`, destroyed with the value.
final class RDKafkaPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ partitions: [KafkaTopicPartition]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(partitions.count))
        for partition in partitions {
            let element = rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)!
            element.pointee.offset = switch partition.start {
            case .beginning: RDKafkaConstant.offsetBeginning
            case .end: RDKafkaConstant.offsetEnd
            case .committed: RDKafkaConstant.offsetStored
            case .offset(let offset): offset
            }
        }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    /// The topic/partition pairs in a list librdkafka handed to us.
    static func partitions(in list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
        (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
        }
    }
}
