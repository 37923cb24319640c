import ArgumentParser
import Foundation
import Kafka
import Logging
import Messaging
import ServiceKit
import ServiceLifecycle

/// `ensemble up`: the local stack in the foreground until Ctrl-C.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run the stack: the embedded broker (unless KAFKA_BROKERS is set) and the topic catalog."
    )

    @OptionGroup var options: CommonOptions

    @Option(help: "Port of the embedded broker.")
    var brokerPort: Int = 9092

    func run() async throws {
        let reader = options.reader()
        var configuration = try ServiceConfiguration(service: "ensemble", defaultPort: 0, reader: reader)
        Observability.bootstrapLogging(service: "ensemble", format: configuration.logFormat, level: configuration.logLevel)
        let logger = Logger(label: "ensemble.up")

        var services: [any Service] = []
        var broker: EmbeddedBroker?
        if reader.string(forKey: "kafka.brokers") == nil {
            let embedded = try EmbeddedBroker(port: brokerPort, logger: logger)
            configuration.kafka.bootstrapServers = [embedded.bootstrapServer]
            services.append(embedded)
            broker = embedded
        }
        services.append(StackStartup(configuration: configuration, broker: broker, logger: logger))

        let group = ServiceGroup(configuration: .init(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
        print("Ensemble stopped.")
    }
}

/// Waits for the broker, creates the topic catalog, says what runs where, then waits for Ctrl-C.
struct StackStartup: Service {
    let configuration: ServiceConfiguration
    let broker: EmbeddedBroker?
    let logger: Logger

    func run() async throws {
        try await broker?.waitUntilReady()
        let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
        let metadata = try await admin.metadata(timeout: configuration.startupTimeout)
        try await admin.createTopics(TopicCatalog.specs, timeout: .seconds(30))

        let servers = configuration.kafka.bootstrapServers.joined(separator: ",")
        let kind = broker == nil ? "external, \(metadata.brokers.count) broker(s)" : "embedded Tansu, memory storage"
        print("""

        Ensemble is up.
          Kafka        \(servers)  (\(kind))
          Topics       \(TopicCatalog.allTopics.count) topics, \(TopicCatalog.partitions) partitions each: \(TopicCatalog.primaryTopics.joined(separator: " "))
                       and a .dlq dead-letter topic for each
          Services     none yet: the participants and the orchestrator join the stack as they land

        Press Ctrl-C to stop.
        """)
        try await gracefulShutdown()
    }
}
