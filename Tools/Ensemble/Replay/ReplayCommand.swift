import ArgumentParser
import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import Prometheus
import ServiceKit
import ServiceLifecycle
import Storage

/// `ensemble replay`: every message of a topic handled again by the services that read it.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Hand every message of a topic again to each service that consumes it, under a fresh consumer group, and show what changed in its database.",
        discussion: """
        For each service whose consumers read --topic (or only --service), opens the
        service as `ensemble up` would (its settings, its database: DATA_DIRECTORY or
        <SERVICE>_DATABASE_URL), and runs a copy of that consumer under a new group id
        from the first offset of every partition to the end the topic had when the replay
        started. Handlers see each message a second time: the inbox, the state checks and
        the projection positions must make that a no-op. On SQLite, every table is
        compared before and after; exits 1 when any row changed. Run it against a stack
        at rest (no orders in flight), with KAFKA_BROKERS naming its broker.
        """
    )

    @OptionGroup var options: CommonOptions
    @Option(help: "The topic to replay, e.g. payment.commands.") var topic: String
    @Flag(help: "Start at the first offset of every partition (the only mode; say it to mean it).") var fromStart = false
    @Option(help: "Only this service's consumers.") var service: String?
    @Option(help: "Give up when the replay has not caught up after this many seconds.") var timeoutSeconds = 300
    @Flag(help: "Print one JSON object on standard output instead of the table.") var json = false

    func validate() throws {
        guard fromStart else { throw ValidationError("--from-start is required: a replay starts at the first offset") }
        guard TopicCatalog.primaryTopics.contains(topic) else {
            throw ValidationError("--topic \(topic): not a topic of the catalog (\(TopicCatalog.primaryTopics.joined(separator: ", ")))")
        }
        guard timeoutSeconds > 0 else { throw ValidationError("--timeout-seconds must be positive") }
    }

    struct Replayed: Codable, Sendable {
        var service: String
        var consumer: String
        var group: String
        var messages: Int64
        var seconds: Double
        /// Nil on PostgreSQL, where the tables are not compared.
        var rows: Int?
        var changes: [TableChange]?
    }

    struct Result: Codable, Sendable {
        var topic: String
        var consumers: [Replayed]
        var unchanged: Bool { consumers.allSatisfy { $0.changes?.isEmpty ?? true } }
    }

    func run() async throws {
        let reader = options.reader()
        var configuration = try ServiceConfiguration(service: "ensemble", defaultPort: 0, reader: reader)
        let logger = options.bootstrapCommandLogging(configuration, reader: reader, label: "ensemble.replay")
        let vault = try UpCommand.secrets(reader: reader, configuration: &configuration, logger: logger)
        let entries = try UpCommand.parse([]).inProcessStack(
            reader: reader, configuration: configuration, broker: nil, vault: vault.keys, banner: "", metrics: PrometheusCollectorRegistry(), logger: logger
        ).services.filter { service == nil || $0.service.name.rawValue == service }
        guard !entries.isEmpty else { throw ValidationError("--service \(service ?? ""): not a service of the stack") }

        let kafka = try await KafkaRuntime.connect(configuration, logger: logger)
        let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
        let ends = try await admin.highWatermarks([topic], timeout: .seconds(10))
        var result = Result(topic: topic, consumers: [])
        let group = ServiceGroup(configuration: .init(services: [.init(service: kafka.producer)], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            for entry in entries {
                let (host, _) = try await ServiceHost.open(entry.service, settings: entry.settings, bus: kafka.bus, metrics: nil, logger: logger)
                for consumer in host.consumers where consumer.subscription.topics.contains(topic) {
                    result.consumers.append(try await replay(consumer, of: entry, host: host, ends: ends, bus: kafka.bus, admin: admin, logger: logger))
                }
                try? await host.database.close()
            }
            await group.triggerGracefulShutdown()
        }
        if json {
            print(String(decoding: try MessageCoding.encode(result), as: UTF8.self))
        } else {
            print(TextTable(title: "Replay of \(topic) from the first offset", columns: ["service", "consumer", "messages", "seconds", "rows", "changed"], rows: result.consumers.map {
                [$0.service, $0.consumer, "\($0.messages)", String(format: "%.1f", $0.seconds), $0.rows.map(String.init) ?? "-",
                 $0.changes.map { $0.isEmpty ? "nothing" : $0.map { "\($0.table) +\($0.added) -\($0.removed)" }.joined(separator: ", ") } ?? "not compared (PostgreSQL)"]
            }).rendered)
            if result.consumers.isEmpty { print("no service of the stack consumes \(topic)") }
        }
        if !result.unchanged { throw ExitCode(1) }
    }

    /// Runs a copy of `consumer` on `topic` under a fresh group until it has committed
    /// `ends`, with the service's outbox relay: a command handled before has its stored
    /// replies queued and sent again (the sender's inbox drops them), and the replay waits
    /// until they are gone, so that the outbox is compared empty with empty.
    private func replay(
        _ consumer: MessageConsumer, of entry: StackService, host: ServiceHost, ends: [KafkaTopicPartition: Int64], bus: any MessageBus, admin: KafkaAdmin, logger: Logger
    ) async throws -> Replayed {
        let groupID = "ensemble-replay-\(entry.service.name)-\(UUID().uuidString.prefix(8).lowercased())"
        let partitions = ends.keys.filter { $0.topic == topic }.sorted { $0.partition < $1.partition }
        let copy = consumer.reading(
            Subscription(groupID: groupID, partitions: partitions.map { KafkaTopicPartition(topic: topic, partition: $0.partition, start: .beginning) }),
            on: bus, name: "\(consumer.name)-replay"
        )
        let path = Self.sqlitePath(entry)
        let before = try path.map(TableSnapshot.take)
        let started = ContinuousClock.now
        let deadline = started + .seconds(timeoutSeconds)
        let messages = partitions.map { ends[$0] ?? 0 }.reduce(0, +)
        let relay = host.relay
        let database = host.database
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await copy.run() }
            tasks.addTask { try await relay.run() }
            defer { tasks.cancelAll() }
            while true {
                let committed = try await admin.committedOffsets(group: groupID, timeout: .seconds(10))
                if partitions.allSatisfy({ (ends[$0] ?? 0) == 0 || (committed[KafkaTopicPartition(topic: $0.topic, partition: $0.partition)] ?? 0) >= ends[$0]! }) { break }
                guard ContinuousClock.now < deadline else {
                    throw CLIError("the replay of \(topic) into \(consumer.name) did not catch up within \(timeoutSeconds) s")
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            while try await database.read({ try await Outbox.count(in: $0) }) > 0 {
                guard ContinuousClock.now < deadline else {
                    throw CLIError("\(entry.service.name)'s outbox did not empty within \(timeoutSeconds) s of the replay's start")
                }
                relay.wake()
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let seconds = (ContinuousClock.now - started).seconds
        let after = try path.map(TableSnapshot.take)
        if !json { FileHandle.standardError.write(Data("replay: \(messages) messages of \(topic) handled again by \(consumer.name) in \(String(format: "%.1f", seconds)) s\n".utf8)) }
        return Replayed(
            service: entry.service.name.rawValue, consumer: consumer.name, group: groupID, messages: messages, seconds: seconds,
            rows: before?.rowCount, changes: before.flatMap { before in after.map { $0.changes(since: before) } }
        )
    }

    /// The service's SQLite file, or nil when it runs on PostgreSQL.
    static func sqlitePath(_ entry: StackService) -> String? {
        let settings = entry.settings.service
        guard let url = settings.databaseURL else { return "\(settings.dataDirectory)/\(entry.service.name).sqlite" }
        return url.hasPrefix("sqlite://") ? String(url.dropFirst("sqlite://".count)) : nil
    }
}
