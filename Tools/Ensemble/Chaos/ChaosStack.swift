import Configuration
import DevTools
import Foundation
import Kafka
import Logging
import Messaging
import ServiceKit
import ServiceLifecycle

/// The stack a chaos run works on: its own embedded broker on a free port and every
/// service as its own process (as `ensemble up --processes` runs them) on free HTTP
/// ports, with SQLite files in the run's directory. A killed process is started again
/// after `restartDelay`, every time (no growing backoff: the run kills often).
final class ChaosStack: Sendable {
    let directory: String
    let broker: EmbeddedBroker
    let processes: ProcessStack
    let configuration: ServiceConfiguration
    let ports: [ServiceName: Int]
    private let group: ServiceGroup

    init(directory: String, reader: ConfigReader, restartDelay: Duration, logger: Logger) throws {
        self.directory = directory
        let files = FileManager.default
        try files.createDirectory(atPath: "\(directory)/logs", withIntermediateDirectories: true)
        var configuration = try ServiceConfiguration(service: "ensemble", defaultPort: 0, reader: reader)
        configuration.dataDirectory = "\(directory)/data"
        let vault = try UpCommand.secrets(reader: reader, configuration: &configuration, logger: logger)
        broker = try EmbeddedBroker(port: try EmbeddedBroker.freeListeningPort(), logger: logger)
        configuration.kafka.bootstrapServers = [broker.bootstrapServer]
        self.configuration = configuration

        var base = ProcessStack.environment(configuration: configuration, vault: vault)
        var ports: [ServiceName: Int] = [:]
        for (name, _) in ProcessStack.services {
            var port = try EmbeddedBroker.freeListeningPort()
            while ports.values.contains(port) || port == broker.port { port = try EmbeddedBroker.freeListeningPort() }
            ports[name] = port
            base["\(name.rawValue.uppercased())_HTTP_PORT"] = "\(port)"
            base.removeValue(forKey: "\(name.rawValue.uppercased())_DATABASE_URL")
        }
        base["LOG_LEVEL"] = base["LOG_LEVEL"] ?? "notice"
        self.ports = ports
        let specs = try ProcessStack.specs(
            services: ProcessStack.services, replicas: [:], directory: ProcessStack.executableDirectory,
            kafka: broker.bootstrapServer, base: base
        ).map { spec in
            var spec = spec
            spec.logPath = "\(directory)/logs/\(spec.label).log"
            return spec
        }
        let supervisorLog = "\(directory)/logs/supervisor.log"
        files.createFile(atPath: supervisorLog, contents: nil)
        let broker = self.broker
        let settings = configuration
        processes = ProcessStack(
            specs: specs,
            restart: RetryPolicy(attempts: .max, initialBackoff: restartDelay, multiplier: 1, maxBackoff: restartDelay),
            say: { line in ChaosStack.append(line, to: supervisorLog) }
        ) {
            try await broker.waitUntilReady()
            _ = try await KafkaRuntime.connect(settings, logger: logger)
        }
        group = ServiceGroup(configuration: .init(services: [.init(service: broker), .init(service: processes)], logger: logger))
    }

    /// Runs the broker and the processes until `stop()`.
    func run() async throws {
        try await group.run()
    }

    /// SIGTERM to every process, then the broker.
    func stop() async {
        await group.triggerGracefulShutdown()
    }

    func url(_ service: ServiceName) -> String { "http://127.0.0.1:\(ports[service] ?? 0)" }

    var urls: [ServiceName: String] {
        Dictionary(uniqueKeysWithValues: ports.keys.map { ($0, url($0)) })
    }

    func databasePath(_ service: ServiceName) -> String { "\(configuration.dataDirectory)/\(service).sqlite" }

    private static func append(_ line: String, to path: String) {
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        handle.write(Data("\(RFC3339.format(Date())) \(line)\n".utf8))
    }
}
