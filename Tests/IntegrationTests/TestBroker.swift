import Foundation
import Kafka
import Logging
import Testing

/// The broker `make test` started for this run.
///
/// Integration tests need a real broker: when `ENSEMBLE_TEST_BROKERS` is missing they
/// fail with this explanation instead of skipping.
enum TestBroker {
    static var servers: [String] {
        get throws {
            guard let value = ProcessInfo.processInfo.environment["ENSEMBLE_TEST_BROKERS"], !value.isEmpty else {
                throw TestBrokerMissing()
            }
            return try KafkaClientConfiguration.parseBrokerList(value)
        }
    }

    static func client(_ id: String = "ensemble-tests") throws -> KafkaClientConfiguration {
        var client = KafkaClientConfiguration(bootstrapServers: try servers, clientID: id)
        // ENSEMBLE_TEST_KAFKA_DEBUG=cgrp,fetch turns on librdkafka's debug contexts (with ENSEMBLE_TEST_LOG=debug).
        if let debug = ProcessInfo.processInfo.environment["ENSEMBLE_TEST_KAFKA_DEBUG"] {
            client.properties["debug"] = debug
        }
        return client
    }

    /// A name no other test (or earlier run against the same broker) uses.
    static func unique(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    static var logger: Logger {
        var logger = Logger(label: "tests")
        logger.logLevel = ProcessInfo.processInfo.environment["ENSEMBLE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    /// Creates `topic` with `partitions` partitions and waits until it exists.
    static func createTopic(_ topic: String, partitions: Int = 1) async throws {
        let admin = try KafkaAdmin(configuration: try client(), logger: logger)
        try await admin.createTopics([KafkaTopicSpec(name: topic, partitions: partitions)], timeout: .seconds(10))
    }
}

struct TestBrokerMissing: Error, CustomStringConvertible {
    var description: String {
        "ENSEMBLE_TEST_BROKERS is not set: integration tests need the broker that `make test` starts (run `make test`, or start a broker and export ENSEMBLE_TEST_BROKERS=host:port)"
    }
}
