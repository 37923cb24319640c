import CRdKafka

/// The linked librdkafka's version.
enum RDKafkaLibrary {
    static var versionString: String { String(cString: rd_kafka_version_str()) }

    /// Major and minor version of the librdkafka loaded at run time.
    static var version: (major: Int, minor: Int) {
        let raw = rd_kafka_version()
        return (Int((raw >> 24) & 0xFF), Int((raw >> 16) & 0xFF))
    }
}
