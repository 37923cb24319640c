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
            let (admin, configuration) = try options.admin()
            _ = try await admin.metadata(timeout: configuration.startupTimeout)
            let created = try await admin.createTopics(TopicCatalog.specs, timeout: .seconds(30))
            print("created \(created.count) of \(TopicCatalog.allTopics.count) catalog topics (the others existed)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the cluster's topics and partition counts.")
        @OptionGroup var options: CommonOptions

        func run() async throws {
            let (admin, configuration) = try options.admin()
            let metadata = try await admin.metadata(timeout: configuration.startupTimeout)
            for (topic, partitions) in metadata.topics.sorted(by: { $0.key < $1.key }) {
                print("\(topic)\t\(partitions)")
            }
        }
    }
}

extension CommonOptions {
    /// An admin client for the configured cluster, with command logging set up.
    func admin() throws -> (KafkaAdmin, ServiceConfiguration) {
        let reader = reader()
        let configuration = try ServiceConfiguration(service: "ensemble", defaultPort: 0, reader: reader)
        let logger = bootstrapCommandLogging(configuration, reader: reader, label: "ensemble.topics")
        return (try KafkaAdmin(configuration: configuration.kafka, logger: logger), configuration)
    }
}
