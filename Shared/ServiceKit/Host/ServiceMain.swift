import Messaging
import Configuration
import Foundation
import Logging
import ServiceLifecycle

/// The `main` of a service in its own process (`ensemble-payment`, `ensemble-orchestrator`,
/// ...): configuration from the environment, logging and metrics, the broker connection,
/// the service's host, and a `ServiceGroup` that stops on SIGTERM or SIGINT. A start-up
/// failure is one line on standard error and exit code 1.
public enum ServiceMain {
    public static func run<S: HostedService>(_ make: (ConfigReader) throws -> S) async {
        do {
            let reader = ConfigReader(provider: EnvironmentVariablesProvider())
            let service = try make(reader)
            let settings = try HostSettings.read(service.name, defaultPort: service.defaultHTTPPort, reader: reader, shared: true)
            Observability.bootstrapLogging(service: service.name.rawValue, format: settings.service.logFormat, level: settings.service.logLevel)
            let metrics = Observability.bootstrapMetrics()
            let logger = Logger(label: "ensemble.\(service.name)")
            let traces = try TraceExport.bootstrap(service: "ensemble-\(service.name)", logger: logger)
            let kafka = try await KafkaRuntime.connect(settings.service, topics: settings.topics, logger: logger)
            let (host, _) = try await ServiceHost.open(service, settings: settings, bus: kafka.bus, metrics: metrics, logger: logger)
            let services: [any Service] = [traces].compactMap { $0 } + [kafka.producer] + host.services { port in
                logger.info("service ready", metadata: [LogKey.service: "\(service.name)", LogKey.httpPort: "\(port)"])
            }
            let group = ServiceGroup(configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
            try await group.run()
        } catch {
            let program = CommandLine.arguments[0].split(separator: "/").last.map(String.init) ?? "service"
            FileHandle.standardError.write(Data("\(program): error: \(error)\n".utf8))
            exit(1)
        }
    }
}
