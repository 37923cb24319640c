/// Metadata keys of the Kafka layer's log lines (the same spelling as `Messaging.LogKey`).
enum KafkaLogKey {
    static let error = "error"
    static let partitions = "kafka.partitions"
    static let lost = "lost"
    static let undelivered = "kafka.undelivered"
    static let log = "kafka.log"
    static let facility = "kafka.facility"
    static let client = "kafka.client"
}
