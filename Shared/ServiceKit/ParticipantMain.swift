import Configuration
import Foundation
import Logging
import ServiceLifecycle

/// The `main` of a participant running in its own process (`ensemble-payment`, ...).
public enum ParticipantMain {
    /// Reads the configuration from the environment, runs the service until SIGTERM or
    /// SIGINT, and turns a start-up failure into one line on standard error and exit code 1.
    public static func run<P: Participant>(_ make: (ConfigReader) throws -> P) async {
        do {
            let reader = ConfigReader(provider: EnvironmentVariablesProvider())
            let participant = try make(reader)
            let settings = try ParticipantSettings.read(participant.name, defaultPort: participant.defaultHTTPPort, reader: reader, shared: true)
            Observability.bootstrapLogging(service: participant.name, format: settings.service.logFormat, level: settings.service.logLevel)
            let metrics = Observability.bootstrapMetrics()
            let logger = Logger(label: "ensemble.\(participant.name)")
            let kafka = try await KafkaRuntime.connect(settings.service, logger: logger)
            let health = HealthState()
            let host = try await ParticipantHost.open(participant, settings: settings, bus: kafka.bus, health: health, metrics: metrics, logger: logger)
            let services: [any Service] = [kafka.producer] + host.services { port in
                health.set("started", ready: true)
                logger.info("\(participant.name) ready", metadata: ["http.port": "\(port)"])
            }
            let group = ServiceGroup(configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
            try await group.run()
        } catch {
            FileHandle.standardError.write(Data("\(CommandLine.arguments[0].split(separator: "/").last ?? "service"): error: \(error)\n".utf8))
            exit(1)
        }
    }
}
