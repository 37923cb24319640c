import ArgumentParser
import Kafka
import Logging
import Messaging
import ServiceKit

/// `ensemble topics create|list`.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Create or list the topic catalog.",
        subcommands: [Create.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create every catalog topic that does not exist yet.")
        @OptionGroup var options: CommonOptions

        func run() async throws {
            let reader = options.reader()
            let configuration = try ServiceConfiguration(service: "ensemble", defaultPort: 0, reader: reader)
            let logger = options.bootstrapCommandLogging(configuration, reader: reader, label: "ensemble.topics")
            let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
            _ = try await admin.metadata(timeout: configuration.startupTimeout)
            let created = try await admin.createTopics(TopicCatalog.specs, timeout: .seconds(30))
            print("created \(created.count) of \(TopicCatalog.allTopics.count) catalog topics (the others existed)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the cluster's topics and partition counts.")
        @OptionGroup var options: CommonOptions

        func run() async throws {
            let reader = options.reader()
            let configuration = try ServiceConfiguration(service: "ensemble", defaultPort: 0, reader: reader)
            let logger = options.bootstrapCommandLogging(configuration, reader: reader, label: "ensemble.topics")
            let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
            let metadata = try await admin.metadata(timeout: configuration.startupTimeout)
            for (topic, partitions) in metadata.topics.sorted(by: { $0.key < $1.key }) {
                print("\(topic)\t\(partitions)")
            }
        }
    }
}
