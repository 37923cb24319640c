import DevTools
import ArgumentParser
import Foundation
import Kafka
import Logging
import ServiceKit
import ServiceLifecycle

/// `ensemble bench kafka`: producer throughput and produce→consume hop latency.
struct KafkaBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Producer throughput and produce→consume hop latency against a broker.",
        discussion: """
        Without --brokers (or KAFKA_BROKERS) it starts an embedded broker on a free port.
        Throughput: --messages records of --size bytes, idempotent with acks=all, timed from
        the first send to the last delivery report. Latency: --round-trips ping-pong round
        trips between two topics; every hop (produce on one side to consume on the other)
        is one sample.
        """
    )

    @OptionGroup var options: CommonOptions

    @Option(help: "Records to produce for the throughput run.")
    var messages: Int = 100_000

    @Option(help: "Record size in bytes.")
    var size: Int = 200

    @Option(help: "Ping-pong round trips for the latency run.")
    var roundTrips: Int = 2_000

    @Option(help: "Partitions of the throughput topic.")
    var partitions: Int = 1

    @Flag(help: "Print one JSON object on standard output instead of the table.")
    var json = false

    func validate() throws {
        guard messages > 0, size > 0, roundTrips > 0, partitions > 0 else {
            throw ValidationError("--messages, --size, --round-trips and --partitions must be positive")
        }
    }

    func run() async throws {
        let reader = options.reader()
        var configuration = try ServiceConfiguration(service: "bench", defaultPort: 0, reader: reader)
        let logger = options.bootstrapCommandLogging(configuration, reader: reader, label: "ensemble.bench")

        var services: [any Service] = []
        var broker: EmbeddedBroker?
        if reader.string(forKey: "kafka.brokers") == nil {
            let embedded = try EmbeddedBroker(logger: logger)
            configuration.kafka.bootstrapServers = [embedded.bootstrapServer]
            services.append(embedded)
            broker = embedded
        }
        let benchmark = KafkaBenchmark(
            client: configuration.kafka, messages: messages, size: size, roundTrips: roundTrips, partitions: partitions,
            brokerDescription: broker == nil ? configuration.kafka.bootstrapServers.joined(separator: ",") : "embedded Tansu at \(broker!.bootstrapServer)",
            logger: logger
        )
        let runner = BenchRunner(broker: broker, benchmark: benchmark, json: json)
        services.append(runner)
        let group = ServiceGroup(configuration: .init(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }
}

/// Runs the benchmark once the broker is ready, prints the result, and ends the group.
private struct BenchRunner: Service {
    let broker: EmbeddedBroker?
    let benchmark: KafkaBenchmark
    let json: Bool

    func run() async throws {
        try await broker?.waitUntilReady()
        let result = try await benchmark.run { progress in
            if !json { FileHandle.standardError.write(Data("\r\(progress)\u{1B}[K".utf8)) }
        }
        if !json { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        print(json ? result.json : result.table)
    }
}
