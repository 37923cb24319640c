import DevTools
import ArgumentParser
import Foundation
import Logging
import ServiceKit
import ServiceLifecycle

/// `ensemble broker`: only the embedded broker, in the foreground. `make test` runs this.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the embedded Kafka broker (Tansu) until Ctrl-C or SIGTERM.",
        discussion: "Prints KAFKA_BROKERS=host:port on standard output once the broker accepts connections."
    )

    @Option(help: "Port to listen on; a free port when omitted.")
    var port: Int?

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    func run() async throws {
        var logger = Logger(label: "ensemble.broker")
        logger.logLevel = .warning
        let broker = try EmbeddedBroker(host: host, port: port, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: broker), .init(service: ReadyAnnouncer(broker: broker))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }
}

private struct ReadyAnnouncer: Service {
    let broker: EmbeddedBroker

    func run() async throws {
        try await broker.waitUntilReady()
        FileHandle.standardOutput.write(Data("KAFKA_BROKERS=\(broker.bootstrapServer)\n".utf8))
        try await gracefulShutdown()
    }
}
