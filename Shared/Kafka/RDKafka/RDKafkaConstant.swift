/// librdkafka macros that Swift cannot import because they are casts.
enum RDKafkaConstant {
    /// `RD_KAFKA_PARTITION_UA`: let the partitioner choose.
    static let unassignedPartition: Int32 = -1
    /// `RD_KAFKA_OFFSET_BEGINNING`, `_END`, `_STORED`.
    static let offsetBeginning: Int64 = -2
    static let offsetEnd: Int64 = -1
    static let offsetStored: Int64 = -1000
}
