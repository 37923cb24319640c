import AggregatorCore
import ArgumentParser
import Configuration
import DevTools
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

    @Flag(help: "Run every service as its own process (the ensemble-<service> executables), supervised.")
    var processes = false

    @Option(help: "With --processes: instances of a service sharing its consumer group, e.g. payment=2,orchestrator=2.")
    var replicas: [String] = []

    func run() async throws {
        let reader = options.reader()
        var configuration = try ServiceConfiguration(service: "ensemble", defaultPort: 0, reader: reader)
        Observability.bootstrapLogging(service: "ensemble", format: configuration.logFormat, level: configuration.logLevel)
        let metrics = Observability.bootstrapMetrics()
        let logger = Logger(label: "ensemble.up")
        // In-process services share this process's tracer; with --processes each service
        // process exports its own spans.
        let traces = processes ? nil : try TraceExport.bootstrap(service: "ensemble", logger: logger)

        let vault = try Self.secrets(reader: reader, configuration: &configuration, logger: logger)
        let banner = try await Self.tokenBanner(configuration.access)

        var services: [any Service] = [traces].compactMap { $0 }
        var broker: EmbeddedBroker?
        if reader.string(forKey: "kafka.brokers") == nil {
            let embedded = try EmbeddedBroker(port: brokerPort, logger: logger)
            configuration.kafka.bootstrapServers = [embedded.bootstrapServer]
            services.append(embedded)
            broker = embedded
        }
        if processes {
            services.append(try processStack(configuration: configuration, broker: broker, vault: vault, banner: banner, logger: logger))
        } else {
            guard replicas.isEmpty else { throw ValidationError("--replicas needs --processes") }
            services.append(try inProcessStack(reader: reader, configuration: configuration, broker: broker, vault: vault.keys, banner: banner, metrics: metrics, logger: logger))
        }

        let group = ServiceGroup(configuration: .init(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
        Console.say("Ensemble stopped.")
    }

    /// The token signing secret and the payment vault's key: the environment's, or the
    /// local stack's (made on the first run, in `.ensemble/keys.json`).
    static func secrets(reader: ConfigReader, configuration: inout ServiceConfiguration, logger: Logger) throws -> (secret: String, keys: CardVaultKeys) {
        let vaultSecret = reader.string(forKey: "payment.vault.key", isSecret: true)
        var local: LocalKeys?
        if configuration.access == nil || vaultSecret == nil {
            let (keys, created) = try LocalKeys.loadOrCreate()
            if created { logger.notice("created the local stack's secrets", metadata: ["path": "\(LocalKeys.path)"]) }
            local = keys
        }
        if configuration.access == nil, let local {
            configuration.access = AccessSettings(mode: .tokens(secret: local.tokenSecret))
        }
        let secret = vaultSecret ?? local?.vaultKey ?? ""
        return (secret, try CardVaultKeys(secret: secret))
    }

    /// What the start-up banner says about tokens: one to use (every scope, a day), or
    /// that authentication is off.
    static func tokenBanner(_ access: AccessSettings?) async throws -> String {
        guard case .tokens(let secret)? = access?.mode else {
            return "Authentication is off (AUTH=off): every caller may use every route."
        }
        let token = try await AccessTokens.make(secret: secret).issue(subject: "local-user", scopes: Scope.allCases, lifetime: .seconds(86_400))
        return """
        A token with every scope, valid for a day (the ensemble CLI finds one by itself;
        `ensemble token --scopes orders:write,orders:read` mints narrower ones):
          export ENSEMBLE_TOKEN=\(token)
        """
    }
}

extension UpCommand {
    /// Every service in this process, on the broker `configuration` names.
    func inProcessStack(
        reader: ConfigReader, configuration: ServiceConfiguration, broker: EmbeddedBroker?, vault: CardVaultKeys, banner: String, metrics: PrometheusCollectorRegistry, logger: Logger
    ) throws -> Stack {
        // Build every service's settings first, so a bad value stops start-up at once.
        let all: [any HostedService] = [
            try OrchestratorService(reader: reader, cardSealer: vault.sealer), ProfileService(), InventoryService(),
            try PaymentService(reader: reader, vault: vault), try ShippingService(reader: reader),
        ]
        var stack = try all.map { service throws(ServiceKitError) in
            var settings = try HostSettings.read(service.name, defaultPort: service.defaultHTTPPort, reader: reader, shared: false)
            settings.service.kafka = configuration.kafka
            settings.service.dataDirectory = configuration.dataDirectory
            settings.service.access = configuration.access
            return StackService(service: service, settings: settings)
        }
        // The aggregator reads the others live on the ports they got here.
        var aggregator = try AggregatorService(reader: reader).settings
        func url(_ name: ServiceName) -> String? {
            stack.first { $0.service.name == name }.map { "http://\($0.settings.service.httpHost):\($0.settings.service.httpPort)" }
        }
        // (An explicit AGGREGATOR_<SERVICE>_URL wins.)
        func live(_ name: ServiceName, _ current: String) -> String {
            reader.string(forKey: ConfigKey("aggregator.\(name.rawValue).url")) == nil ? url(name) ?? current : current
        }
        aggregator.live = .init(
            profile: live(.profile, aggregator.live.profile), orchestrator: live(.orchestrator, aggregator.live.orchestrator),
            payment: live(.payment, aggregator.live.payment), shipping: live(.shipping, aggregator.live.shipping)
        )
        var aggregatorSettings = try HostSettings.read(AggregatorService.name, defaultPort: AggregatorService.defaultHTTPPort, reader: reader, shared: false)
        aggregatorSettings.service.kafka = configuration.kafka
        aggregatorSettings.service.dataDirectory = configuration.dataDirectory
        aggregatorSettings.service.access = configuration.access
        stack.insert(StackService(service: AggregatorService(settings: aggregator), settings: aggregatorSettings), at: 1)
        return Stack(configuration: configuration, broker: broker, services: stack, banner: banner, metrics: metrics, logger: logger)
    }
}

extension UpCommand {
    /// The service processes, next to this executable, on the broker `configuration` names.
    func processStack(
        configuration: ServiceConfiguration, broker: EmbeddedBroker?, vault: (secret: String, keys: CardVaultKeys), banner: String, logger: Logger
    ) throws -> ProcessStack {
        let base = ProcessStack.environment(configuration: configuration, vault: vault)
        let specs = try ProcessStack.specs(
            services: ProcessStack.services, replicas: try ProcessStack.replicas(replicas), directory: ProcessStack.executableDirectory,
            kafka: configuration.kafka.bootstrapServers.joined(separator: ","), base: base
        )
        return ProcessStack(specs: specs, banner: banner) {
            try await broker?.waitUntilReady()
            // The topic catalog, once, before any service starts.
            _ = try await KafkaRuntime.connect(configuration, logger: logger)
        }
    }
}

/// One service of the stack and its settings.
struct StackService: Sendable {
    let service: any HostedService
    let settings: HostSettings
}

/// Waits for the broker, creates the topic catalog, opens every service (database,
/// migrations, demo data), says what runs where, then runs them all until shutdown, each
/// supervised: a fatal error in one restarts that one with backoff while the others go on.
struct Stack: Service {
    let configuration: ServiceConfiguration
    let broker: EmbeddedBroker?
    let services: [StackService]
    let banner: String
    let metrics: PrometheusCollectorRegistry
    let logger: Logger

    func run() async throws {
        try await broker?.waitUntilReady()
        let kafka = try await KafkaRuntime.connect(configuration, oneProcess: true, logger: logger)
        let metrics = self.metrics
        let logger = self.logger
        var running: [any Service] = [kafka.producer]
        var rows: [String] = []
        for entry in services {
            let open: @Sendable () async throws -> [any Service] = {
                try await ServiceHost.open(entry.service, settings: entry.settings, bus: kafka.bus, metrics: metrics, failure: ServiceFailure(), logger: logger).host.services()
            }
            // A failure to open a service here is a start-up error.
            running.append(SupervisedService(name: entry.service.name.rawValue, first: try await open(), logger: logger, reopen: open))
            let name = entry.service.name.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
            let settings = entry.settings.service
            rows.append("  \(name) http://\(settings.httpHost):\(settings.httpPort)  (\(settings.dataDirectory)/\(entry.service.name).sqlite)")
        }
        let orchestratorPort = services.first { $0.service.name == OrchestratorService.name }?.settings.service.httpPort ?? OrchestratorService.defaultHTTPPort
        let aggregatorPort = services.first { $0.service.name == AggregatorService.name }?.settings.service.httpPort ?? AggregatorService.defaultHTTPPort

        let servers = configuration.kafka.bootstrapServers.joined(separator: ",")
        let kind = broker == nil ? "external broker" : "embedded Tansu, memory storage"
        Console.say("""

        Ensemble is up.
          Kafka        \(servers)  (\(kind)); \(TopicCatalog.allTopics.count) topics, \(TopicCatalog.partitions) partition\(TopicCatalog.partitions == 1 ? "" : "s") each
        \(rows.joined(separator: "\n"))

        Place an order:
          curl -s -X POST localhost:\(orchestratorPort)/orders -H "Authorization: Bearer $ENSEMBLE_TOKEN" -H 'Content-Type: application/json' -d '{"customerId": "bob", "items": [{"sku": "SKU-COFFEE", "quantity": 2, "unitPrice": "12.50"}], "payment": {"card": "4111111111111111"}, "shipTo": {"name": "Bob Example", "line1": "2 Oak Ave", "city": "Springfield", "postalCode": "12345", "country": "US"}}'
          .build/debug/ensemble order place --customer bob --item SKU-COFFEE:2
          .build/debug/ensemble order show <order id>

        See what is known about a customer, merged from every service:
          curl -s localhost:\(aggregatorPort)/profiles/bob -H "Authorization: Bearer $ENSEMBLE_TOKEN"
          .build/debug/ensemble profile show bob

        \(banner)

        Press Ctrl-C to stop.
        """)
        let group = ServiceGroup(configuration: .init(services: running.map { .init(service: $0) }, logger: logger))
        try await group.run()
    }
}
