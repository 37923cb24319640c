import AggregatorCore
import Foundation
import InventoryCore
import OrchestratorCore
import PaymentCore
import ProfileCore
import ShippingCore
import Kafka
import DevTools
import Logging
import Messaging
import ServiceKit
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One service instance run as its own OS process: which executable, which replica, and
/// the environment it gets (the same variables the compose file sets).
struct ProcessSpec: Sendable {
    let service: ServiceName
    let replica: Int
    let executable: String
    let environment: [String: String]
    let httpPort: Int
    /// Where its standard output and error go; inherited when nil.
    var logPath: String?

    /// `payment`, or `payment#2` for a second replica.
    var label: String { replica == 0 ? service.rawValue : "\(service.rawValue)#\(replica + 1)" }
}

/// `ensemble up --processes`: every service as a separate process, supervised. A process
/// that exits while the stack runs is restarted with backoff (0.5 s doubling to 30 s,
/// reset after a minute up), and one line says who died and why. On shutdown every
/// process gets SIGTERM, then SIGKILL after ten seconds.
final class ProcessStack: Service, Sendable {
    private let specs: [ProcessSpec]
    /// Runs before the first process starts (waiting for the broker, creating the topics).
    private let prepare: @Sendable () async throws -> Void
    /// What the start-up lines say about tokens.
    private let banner: String
    /// How long a process that exited waits before it starts again, by its failures in a row.
    private let restart: RetryPolicy
    /// Where the supervisor's lines go.
    private let say: @Sendable (String) -> Void
    private let running = Mutex<[String: ChildProcess]>([:])
    private let starts = Mutex<[String: Int]>([:])
    private let stopping = Atomic<Bool>(false)

    /// `restart` defaults to 0.5 s doubling to 30 s; `say` to the terminal.
    init(
        specs: [ProcessSpec], banner: String = "",
        restart: RetryPolicy = RetryPolicy(attempts: .max, initialBackoff: .milliseconds(500), multiplier: 2, maxBackoff: .seconds(30)),
        say: @escaping @Sendable (String) -> Void = Console.say,
        prepare: @escaping @Sendable () async throws -> Void
    ) {
        self.specs = specs
        self.banner = banner
        self.restart = restart
        self.say = say
        self.prepare = prepare
    }

    var labels: [String] { specs.map(\.label) }

    /// Sends `signal` to the running process of `label`; its pid, or nil when none runs.
    @discardableResult
    func signal(_ label: String, _ signal: Int32) -> Int32? {
        guard let process = running.withLock({ $0[label] }), process.isRunning else { return nil }
        process.send(signal)
        return process.pid
    }

    /// How many times each process has been started.
    var startCounts: [String: Int] { starts.withLock { $0 } }

    func run() async throws {
        try await prepare()
        let rows = specs.map { "  \($0.label.padding(toLength: 14, withPad: " ", startingAt: 0)) http://127.0.0.1:\($0.httpPort)  \($0.environment["DATABASE_URL"].map { _ in "(DATABASE_URL)" } ?? "(SQLite)")" }
        say("""

        Ensemble is starting \(specs.count) service processes:
        \(rows.joined(separator: "\n"))
        \(banner)
        Press Ctrl-C to stop them all.
        """)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for spec in specs {
                    group.addTask { await self.supervise(spec) }
                }
            }
        } onGracefulShutdown: {
            self.stopAll()
        }
    }

    /// Starts `spec`, and again each time it exits, until the stack stops.
    private func supervise(_ spec: ProcessSpec) async {
        var failures = 0
        while !stopping.load(ordering: .relaxed) {
            let started = ContinuousClock.now
            let termination: ChildProcess.Termination
            do {
                termination = try await launch(spec)
            } catch {
                say("\(spec.label): cannot start \(spec.executable): \(error)")
                return
            }
            if stopping.load(ordering: .relaxed) { return }
            failures = ContinuousClock.now - started > .seconds(60) ? 1 : failures + 1
            let delay = restart.backoff(after: failures)
            say("\(spec.label) \(termination); restarting in \(delay)")
            try? await Task.sleep(for: delay)
        }
    }

    /// Runs one process of `spec` to its end.
    private func launch(_ spec: ProcessSpec) async throws -> ChildProcess.Termination {
        let child = try ChildProcess(spec.executable, environment: spec.environment, output: spec.logPath)
        running.withLock { $0[spec.label] = child }
        starts.withLock { $0[spec.label, default: 0] += 1 }
        say("\(spec.label) started: pid \(child.pid), http://127.0.0.1:\(spec.httpPort)")
        while true {
            if let termination = await child.wait(timeout: .seconds(3600)) { return termination }
        }
    }

    private func stopAll() {
        stopping.store(true, ordering: .relaxed)
        let processes = running.withLock { Array($0.values) }
        for process in processes { process.send(SIGTERM) }
        Task {
            try? await Task.sleep(for: .seconds(10))
            for process in processes { process.send(SIGKILL) }
        }
    }
}

extension ProcessStack {
    /// Every service of the stack with its usual HTTP port, in start order.
    static let services: [(name: ServiceName, port: Int)] = [
        (OrchestratorService.name, OrchestratorService.defaultHTTPPort), (AggregatorService.name, AggregatorService.defaultHTTPPort),
        (.profile, ProfileService().defaultHTTPPort), (.inventory, InventoryService().defaultHTTPPort),
        (.payment, PaymentService().defaultHTTPPort), (.shipping, ShippingService().defaultHTTPPort),
    ]

    /// Where the `ensemble-<service>` executables are: next to this one.
    static var executableDirectory: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
    }

    /// The environment every service process gets: this process's, with the stack's data
    /// directory, token secret and payment vault keys, and JSON logs unless LOG_FORMAT says otherwise.
    static func environment(configuration: ServiceConfiguration, vault: (secret: String, keys: CardVaultKeys)) -> [String: String] {
        var base = ProcessInfo.processInfo.environment
        base["DATA_DIRECTORY"] = configuration.dataDirectory
        if case .tokens(let secret)? = configuration.access?.mode, base["AUTH_JWT_SECRET"] == nil, base["AUTH_JWT_SECRET_FILE"] == nil {
            base["AUTH_JWT_SECRET"] = secret
        }
        base["PAYMENT_VAULT_KEY"] = base["PAYMENT_VAULT_KEY"] ?? vault.secret
        base["CARD_SEALING_KEY"] = base["CARD_SEALING_KEY"] ?? vault.keys.sealer.publicKeyText
        base["LOG_FORMAT"] = base["LOG_FORMAT"] ?? "json"
        return base
    }

    /// The processes for `services`, with `replicas` instances of some: each gets the
    /// shared settings, its own HTTP port (its usual one or `<SERVICE>_HTTP_PORT`; replica n
    /// of a service on that port + 100 n) and,
    /// when `<SERVICE>_DATABASE_URL` is set, that database (replicas share it).
    static func specs(
        services: [(name: ServiceName, port: Int)], replicas: [ServiceName: Int], directory: String,
        kafka: String, base: [String: String]
    ) throws -> [ProcessSpec] {
        var specs: [ProcessSpec] = []
        for (name, defaultPort) in services {
            let prefix = name.rawValue.uppercased()
            let port = base["\(prefix)_HTTP_PORT"].flatMap { Int($0) } ?? defaultPort
            let executable = "\(directory)/ensemble-\(name)"
            guard FileManager.default.isExecutableFile(atPath: executable) else {
                throw ServiceKitError(code: .invalidConfiguration, message: "\(executable) is missing; build every product first (swift build)")
            }
            for replica in 0..<(replicas[name] ?? 1) {
                var environment = base
                environment["KAFKA_BROKERS"] = kafka
                environment["HTTP_PORT"] = "\(port + 100 * replica)"
                environment.removeValue(forKey: "\(prefix)_HTTP_PORT")
                environment.removeValue(forKey: "DATABASE_URL")
                if let url = base["\(prefix)_DATABASE_URL"] { environment["DATABASE_URL"] = url }
                if let faults = base["\(prefix)_FAULTS"] { environment["FAULTS"] = faults }
                specs.append(ProcessSpec(service: name, replica: replica, executable: executable, environment: environment, httpPort: port + 100 * replica))
            }
        }
        return specs
    }

    /// Reads `--replicas payment=2,orchestrator=2`.
    static func replicas(_ text: [String]) throws -> [ServiceName: Int] {
        var replicas: [ServiceName: Int] = [:]
        for part in text.flatMap({ $0.split(separator: ",") }) {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let count = Int(pair[1]), (1...9).contains(count) else {
                throw ServiceKitError(code: .invalidConfiguration, message: "--replicas \(part): expected service=count, count 1-9")
            }
            replicas[ServiceName(rawValue: pair[0])] = count
        }
        return replicas
    }
}
