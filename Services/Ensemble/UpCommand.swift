import ArgumentParser
import Configuration
import Foundation
import InventoryCore
import Kafka
import OrchestratorCore
import Logging
import Messaging
import PaymentCore
import Prometheus
import ProfileCore
import ServiceKit
import ServiceLifecycle
import ShippingCore

/// `ensemble up`: the local stack in the foreground until Ctrl-C.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run the stack: the embedded broker (unless KAFKA_BROKERS is set), the topic catalog and the participant services."
    )

    @OptionGroup var options: CommonOptions

    @Option(help: "Port of the embedded broker.")
    var brokerPort: Int = 9092

    func run() async throws {
        let reader = options.reader()
        var configuration = try ServiceConfiguration(service: "ensemble", defaultPort: 0, reader: reader)
        Observability.bootstrapLogging(service: "ensemble", format: configuration.logFormat, level: configuration.logLevel)
        let metrics = Observability.bootstrapMetrics()
        let logger = Logger(label: "ensemble.up")

        var services: [any Service] = []
        var broker: EmbeddedBroker?
        if reader.string(forKey: "kafka.brokers") == nil {
            let embedded = try EmbeddedBroker(port: brokerPort, logger: logger)
            configuration.kafka.bootstrapServers = [embedded.bootstrapServer]
            services.append(embedded)
            broker = embedded
        }
        // Build every participant's settings first, so a bad value stops start-up at once.
        let participants: [any Participant] = [ProfileService(), InventoryService(), try PaymentService(reader: reader), ShippingService()]
        let settings = try participants.map { participant throws(ServiceKitError) in
            var settings = try ParticipantSettings.read(participant.name, defaultPort: participant.defaultHTTPPort, reader: reader, shared: false)
            settings.service.kafka = configuration.kafka
            settings.service.dataDirectory = configuration.dataDirectory
            return settings
        }
        var orchestrator = try ServiceConfiguration(service: OrchestratorService.name, defaultPort: OrchestratorService.defaultHTTPPort, reader: reader, shared: false)
        orchestrator.kafka = configuration.kafka
        orchestrator.dataDirectory = configuration.dataDirectory
        services.append(Stack(
            configuration: configuration, broker: broker, participants: zip(participants, settings).map { ($0, $1) },
            orchestrator: orchestrator, metrics: metrics, logger: logger
        ))

        let group = ServiceGroup(configuration: .init(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
        Console.say("Ensemble stopped.")
    }
}

/// Waits for the broker, creates the topic catalog, opens every participant (database,
/// migrations, demo data), says what runs where, then runs them all until shutdown.
struct Stack: Service {
    let configuration: ServiceConfiguration
    let broker: EmbeddedBroker?
    let participants: [(any Participant, ParticipantSettings)]
    let orchestrator: ServiceConfiguration
    let metrics: PrometheusCollectorRegistry
    let logger: Logger

    func run() async throws {
        try await broker?.waitUntilReady()
        let kafka = try await KafkaRuntime.connect(configuration, logger: logger)
        let metrics = self.metrics
        let logger = self.logger
        var services: [any Service] = [kafka.producer]
        var rows: [String] = []
        // Each service runs supervised: a fatal error in one restarts that one with backoff
        // while the others go on. A failure to open a service here is a start-up error.
        for (participant, settings) in participants {
            let open: @Sendable () async throws -> [any Service] = {
                let health = HealthState()
                let failure = ServiceFailure()
                let host = try await ParticipantHost.open(participant, settings: settings, bus: kafka.bus, health: health, metrics: metrics, failure: failure, logger: logger)
                return host.services { _ in health.set("started", ready: true) }
            }
            services.append(SupervisedService(name: participant.name, first: try await open(), logger: logger, reopen: open))
            let name = participant.name.padding(toLength: 11, withPad: " ", startingAt: 0)
            rows.append("  \(name)  http://\(settings.service.httpHost):\(settings.service.httpPort)  (\(settings.service.dataDirectory)/\(participant.name).sqlite)")
        }

        let orchestrator = self.orchestrator
        let openOrchestrator: @Sendable () async throws -> [any Service] = {
            let health = HealthState()
            return try await OrchestratorService.open(settings: orchestrator, bus: kafka.bus, health: health, metrics: metrics, logger: logger) { _ in
                health.set("started", ready: true)
            }.services
        }
        services.append(SupervisedService(name: OrchestratorService.name, first: try await openOrchestrator(), logger: logger, reopen: openOrchestrator))
        rows.insert("  orchestrator http://\(orchestrator.httpHost):\(orchestrator.httpPort)  (\(orchestrator.dataDirectory)/orchestrator.sqlite)", at: 0)

        let servers = configuration.kafka.bootstrapServers.joined(separator: ",")
        let kind = broker == nil ? "external broker" : "embedded Tansu, memory storage"
        Console.say("""

        Ensemble is up.
          Kafka        \(servers)  (\(kind)); \(TopicCatalog.allTopics.count) topics, \(TopicCatalog.partitions) partitions each
        \(rows.joined(separator: "\n"))

        Place an order:
          curl -s -X POST localhost:\(orchestrator.httpPort)/orders -H 'Content-Type: application/json' -d '{"customerId": "bob", "items": [{"sku": "SKU-COFFEE", "quantity": 2, "unitPrice": "12.50"}], "payment": {"card": "4111111111111111"}, "shipTo": {"name": "Bob Example", "line1": "2 Oak Ave", "city": "Springfield", "postalCode": "12345", "country": "US"}}'
          .build/debug/ensemble order place --customer bob --item SKU-COFFEE:2
          .build/debug/ensemble order show <order id>

        Press Ctrl-C to stop.
        """)
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        try await group.run()
    }
}
