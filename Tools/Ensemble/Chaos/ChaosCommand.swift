import ArgumentParser
import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import OrchestratorCore
import ServiceKit

/// `ensemble chaos`: orders while services are killed and paused, then the invariants.
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Place orders while service processes are killed and paused at random, then check the whole system's invariants.",
        discussion: """
        Starts a stack of its own (an embedded broker on a free port, every service as its
        own process on free ports, SQLite files under --directory), places --orders orders
        (the --mix workload; --mode orchestration, choreography, or both interleaved),
        --concurrency workers each placing an order and following it for up to
        --follow-seconds before the next, and meanwhile, about every --kill-every, kills one of
        --services with SIGKILL (the supervisor starts it again) or, for a --pause-share of
        the faults, stops it with SIGSTOP past the consumer session timeout and resumes it.
        When every order was placed, the faults stop and the run waits for quiescence
        (every order terminal, every outbox empty, every consumer group caught up), then
        checks from the services' own databases and the broker: no payment captured twice
        or for an order that did not complete, every authorization captured or voided,
        stock conserved per SKU with nothing left reserved, one shipment per completed
        order and none for another, dead-letter topics empty, and the aggregator's profiles
        equal to a rebuild from the topics. Exits 1 when any invariant is violated.
        """
    )

    @OptionGroup var options: CommonOptions
    @Option(help: "Orders to place.") var orders = 1000
    @Option(help: "Orders in flight at once.") var concurrency = 16
    @Option(help: "Mean time between faults (e.g. 2s, 500ms); each wait is between half and one and a half of it.") var killEvery = "2s"
    @Option(help: "The services faults hit, comma-separated.") var services = "orchestrator,payment,inventory,shipping,profile,aggregator"
    @Option(help: "orchestration, choreography, or both (interleaved).") var mode: ChaosMode = .both
    @Option(help: "The workload: kind:weight, kinds happy, decline, out-of-stock, blocked.") var mix = Mix.standard
    @Option(help: "Share of the faults that pause a process (SIGSTOP past the session timeout) rather than kill it, 0-1.") var pauseShare = 0.2
    @Option(help: "Seed of the fault schedule (services, actions, intervals); random when omitted, printed either way.") var seed: UInt64?
    @Option(help: "Where the run's stack keeps its databases and logs (a new directory under .ensemble/chaos by default).") var directory: String?
    @Option(help: "How long to wait for quiescence once the faults stop, in seconds.") var settleSeconds = 120
    @Option(help: "How long a worker follows its order before it places the next, in seconds.") var followSeconds = 5
    @Option(help: "At most this many orders placed per second (0: as fast as the workers go). Orders that fail fast on an open circuit otherwise end the run in seconds.") var rate = 0.0
    @Flag(help: "Print one JSON object on standard output instead of the tables.") var json = false
    @Option(help: "Also write the result as JSON to this file (the run's directory has a copy either way).") var writeJSON: String?

    enum ChaosMode: String, ExpressibleByArgument, Codable, Sendable {
        case orchestration, choreography, both
        var modes: [CheckoutMode] {
            switch self {
            case .orchestration: [.orchestration]
            case .choreography: [.choreography]
            case .both: [.orchestration, .choreography]
            }
        }
    }

    func validate() throws {
        guard orders > 0, concurrency > 0, settleSeconds > 0, followSeconds > 0 else {
            throw ValidationError("--orders, --concurrency, --settle-seconds and --follow-seconds must be positive")
        }
        guard rate >= 0, rate.isFinite else { throw ValidationError("--rate must be 0 or more") }
        guard (0...1).contains(pauseShare) else { throw ValidationError("--pause-share must be from 0 to 1") }
        guard let interval = Self.duration(killEvery), interval >= .milliseconds(100) else {
            throw ValidationError("--kill-every '\(killEvery)': expected a duration of at least 100ms, such as 2s or 500ms")
        }
        _ = interval
        _ = try targets()
    }

    /// `2s`, `500ms`, `1.5s`, or a number of seconds.
    static func duration(_ text: String) -> Duration? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("ms"), let value = Double(text.dropLast(2)), value.isFinite, value >= 0 { return .milliseconds(Int64(value)) }
        if text.hasSuffix("s"), let value = Double(text.dropLast()), value.isFinite, value >= 0 { return .milliseconds(Int64(value * 1000)) }
        if let value = Double(text), value.isFinite, value >= 0 { return .milliseconds(Int64(value * 1000)) }
        return nil
    }

    func targets() throws -> [ServiceName] {
        let known = ProcessStack.services.map(\.name)
        let names = services.split(separator: ",").map { ServiceName(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
        guard !names.isEmpty else { throw ValidationError("--services names no service") }
        for name in names where !known.contains(name) {
            throw ValidationError("--services: '\(name)' is not a service (\(known.map(\.rawValue).joined(separator: ", ")))")
        }
        return names
    }

    func run() async throws {
        let reader = options.reader()
        let configuration = try ServiceConfiguration(service: "chaos", defaultPort: 0, reader: reader)
        let logger = options.bootstrapCommandLogging(configuration, reader: reader, label: "ensemble.chaos")
        let seed = self.seed ?? UInt64.random(in: 1...999_999)
        let directory = self.directory ?? ".ensemble/chaos/\(Int(Date().timeIntervalSince1970))-\(seed)"
        let stack = try ChaosStack(directory: directory, reader: reader, restartDelay: .milliseconds(500), logger: logger)
        let quiet = json
        let say: @Sendable (String) -> Void = { text in
            if !quiet { FileHandle.standardError.write(Data("\r\u{1B}[Kchaos: \(text)\n".utf8)) }
        }
        say("seed \(seed); stack in \(directory) (logs in \(directory)/logs)")
        let run = ChaosRun(
            stack: stack, orders: orders, concurrency: concurrency, interval: Self.duration(killEvery)!, targets: try targets(),
            modes: mode.modes, mix: mix, pauseShare: pauseShare, seed: seed, settle: .seconds(settleSeconds), followFor: .seconds(followSeconds), rate: rate, say: say, logger: logger
        )
        let result = try await withThrowingTaskGroup(of: ChaosResult?.self) { group in
            group.addTask { try await stack.run(); return nil }
            group.addTask {
                defer { Task { await stack.stop() } }
                return try await run.run()
            }
            while let next = try await group.next() {
                if let next {
                    await stack.stop()
                    try await group.waitForAll()
                    return next
                }
            }
            throw CLIError("the stack stopped before the run finished (logs in \(directory)/logs)")
        }
        if !quiet { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let encoded = try MessageCoding.encode(result)
        print(json ? String(decoding: encoded, as: UTF8.self) : result.tables)
        for path in ["\(directory)/result.json", writeJSON].compactMap({ $0 }) {
            try encoded.write(to: URL(fileURLWithPath: path))
        }
        if !json { print("\nresult as JSON: \(writeJSON ?? "\(directory)/result.json")") }
        if !result.violations.isEmpty { throw ExitCode(1) }
    }
}
