import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, for the tools and tests that start many.
///
/// Foundation's `Process.run()` on Linux (Swift 6.3.1) crashes now and then in
/// `findMaximumOpenFromProcSelfFD()`, which over-reads a directory entry while listing
/// `/proc/self/fd` (fixed upstream, swift-corelibs-foundation pull request 5472); the
/// more descriptors the parent holds, the likelier, and a test process holding Kafka,
/// SQLite and PostgreSQL connections holds many. This spawns directly: standard input from
/// `/dev/null`, standard output and error appended to a file (or inherited), every signal
/// back to its default and none blocked in the child. Descriptors opened with close-on-exec
/// (as Swift, NIO, librdkafka and SQLite open theirs) are not inherited.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let executable: String
    /// The raw `waitpid` status, once the child has been reaped.
    private let status = Mutex<Int32?>(nil)

    /// How a child ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        public var description: String {
            switch self {
            case .exited(let code): "exited with code \(code)"
            case .signalled(let signal): "was killed by signal \(signal)"
            }
        }
    }

    /// Starts `executable` (a path) with `arguments`; `environment` replaces the parent's,
    /// `directory` is the child's working directory, `output` a file its standard output
    /// is appended to, and its standard error too unless `errors` names another.
    public init(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        directory: String? = nil, output: String? = nil, errors: String? = nil
    ) throws {
        self.executable = executable
        var path = executable
        var argv = [executable] + arguments
        if let directory {
            // `env --chdir` changes directory in the child, between fork and exec.
            path = "/usr/bin/env"
            argv = [path, "--chdir", directory] + argv
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            if errors == nil { posix_spawn_file_actions_adddup2(&actions, 1, 2) }
        }
        if let errors {
            posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var everySignal = sigset_t()
        sigfillset(&everySignal)
        var noSignal = sigset_t()
        sigemptyset(&noSignal)
        posix_spawnattr_setsigdefault(&attributes, &everySignal)
        posix_spawnattr_setsigmask(&attributes, &noSignal)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let variables = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnvironment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
        defer {
            for pointer in cArguments { free(pointer) }
            for pointer in cEnvironment { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else {
            throw ChildProcessError(message: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// The termination, if the child has ended (reaping it).
    public var termination: Termination? {
        let raw: Int32? = status.withLock { status in
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            }
            return status
        }
        return raw.map { raw in
            raw & 0x7F == 0 ? .exited((raw >> 8) & 0xFF) : .signalled(raw & 0x7F)
        }
    }

    public var isRunning: Bool { termination == nil }

    /// Sends `signal` while the child runs.
    public func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits for the end, polling; `nil` if it still runs after `timeout`.
    @discardableResult
    public func wait(timeout: Duration = .seconds(3600)) async -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let termination { return termination }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return termination
    }

    /// Waits for the end without an async context, polling.
    @discardableResult
    public func waitBlocking(timeout: TimeInterval) -> Termination? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let termination { return termination }
            usleep(20_000)
        }
        return termination
    }

    /// Runs `executable` to its end and returns its exit, standard output and standard error.
    public static func run(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        directory: String? = nil, timeout: Duration = .seconds(300)
    ) async throws -> (termination: Termination, output: String, errors: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: file + ".out")
            try? FileManager.default.removeItem(atPath: file + ".err")
        }
        let child = try ChildProcess(executable, arguments, environment: environment, directory: directory, output: file + ".out", errors: file + ".err")
        guard let termination = await child.wait(timeout: timeout) else {
            child.send(SIGKILL)
            _ = await child.wait(timeout: .seconds(5))
            throw ChildProcessError(message: "\(executable) still ran after \(timeout)")
        }
        return (termination, (try? String(contentsOfFile: file + ".out", encoding: .utf8)) ?? "", (try? String(contentsOfFile: file + ".err", encoding: .utf8)) ?? "")
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
