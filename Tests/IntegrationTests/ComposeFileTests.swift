import DevTools
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StorageTesting
import Testing
import Yams

/// The compose file checked against the code without Docker: `docker-compose config`
/// resolves it (as Docker would), and each service container's command, environment,
/// port and health check must be ones the executable really accepts, shown by starting
/// that executable locally with that environment, pointed at the test broker and a test
/// PostgreSQL database, until its `/health/ready` answers 200.
@Suite("docker-compose.yml against the code", .serialized)
struct ComposeFileTests {
    /// Every service the code defines, and its executable (`ensemble-<service>`).
    static let services = StackProcess.services

    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `docker-compose config` on the file, parsed.
    static func resolved(_ files: [String] = ["docker-compose.yml"]) async throws -> [String: Any] {
        let (termination, output, problem) = try await ChildProcess.run(
            "/usr/bin/env", ["docker-compose"] + files.flatMap { ["-f", root.appendingPathComponent($0).path] } + ["config"],
            directory: root.path, timeout: .seconds(60)
        )
        #expect(termination == .exited(0), "docker-compose config failed (make test installs Debian's docker-compose): \(problem)")
        let loaded = try Yams.load(yaml: output)
        return try #require(loaded as? [String: Any])
    }

    /// The variables the README's configuration section names.
    static func documentedVariables() throws -> Set<String> {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        return Set(readme.matches(of: /`([A-Z][A-Z0-9_]+)`/).map { String($0.output.1) })
    }

    @Test("the file and its three-node variant are valid, every service has a container running its executable, with documented variables and a health check on its own port")
    func structure() async throws {
        let documented = try Self.documentedVariables()
        for files in [["docker-compose.yml"], ["docker-compose.yml", "deploy/compose.kafka3.yml"]] {
            let resolved = try await Self.resolved(files)
            let services = try #require(resolved["services"] as? [String: Any])
            for name in Self.services {
                let container = try #require(services[name] as? [String: Any], "no container for \(name) in \(files)")
                #expect(container["command"] as? [String] == ["ensemble-\(name)"])
                #expect(container["container_name"] == nil, "\(name): a fixed container name stops --scale")
                let environment = try #require(container["environment"] as? [String: Any])
                for variable in environment.keys {
                    #expect(documented.contains(variable), "\(name): \(variable) is not a documented setting")
                }
                let portText = try #require(environment["HTTP_PORT"] as? String)
                let port = try #require(Int(portText))
                let healthcheck = container["healthcheck"] as? [String: Any]
                let health = try #require(healthcheck?["test"] as? [String])
                #expect(health.last == "http://127.0.0.1:\(port)/health/ready", "\(name): \(health)")
                let ports = try #require(container["ports"] as? [[String: Any]])
                #expect(ports.compactMap { $0["target"] as? Int } == [port], "\(name): \(ports)")
                let dependencies = try #require(container["depends_on"] as? [String: Any])
                #expect((dependencies["topics"] as? [String: String])?["condition"] == "service_completed_successfully")
                #expect((dependencies["postgres"] as? [String: String])?["condition"] == "service_healthy")
            }
            let topics = try #require(services["topics"] as? [String: Any])
            #expect(topics["command"] as? [String] == ["ensemble", "topics", "create"])
        }
        // Only the entry points have fixed host ports; the participants scale.
        let resolved = try await Self.resolved()
        let services = try #require(resolved["services"] as? [String: Any])
        for name in ["payment", "inventory", "shipping", "profile"] {
            let container = services[name] as? [String: Any]
            let ports = try #require(container?["ports"] as? [[String: Any]])
            #expect(ports.allSatisfy { $0["published"] == nil }, "\(name) publishes a fixed host port: \(ports)")
        }
    }

    @Test("each container's command and environment start its executable here, on the test broker and PostgreSQL, until /health/ready is 200", arguments: ComposeFileTests.services)
    func executableStarts(service name: String) async throws {
        let resolved = try await Self.resolved()
        let services = try #require(resolved["services"] as? [String: Any])
        let container = try #require(services[name] as? [String: Any])
        let command = try #require(container["command"] as? [String])
        let declared = try #require(container["environment"] as? [String: Any])
        var environment = declared.mapValues { "\($0)" }
        // Host names of the compose network become the test's servers.
        environment["KAFKA_BROKERS"] = try TestBroker.client().bootstrapServers.joined(separator: ",")
        #expect(environment["DATABASE_URL"]?.hasPrefix("postgres://") == true)
        environment["DATABASE_URL"] = try await TestDatabase.url(TestBroker.unique("compose-\(name)"))
        let port = try EmbeddedBroker.freeListeningPort()
        environment["HTTP_PORT"] = String(port)
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"]
        environment["LOG_LEVEL"] = "warning"

        let directory = URL(fileURLWithPath: try EnsembleBinary.path).deletingLastPathComponent()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.unique("compose-\(name)") + ".log")
        let process = try ChildProcess(
            directory.appendingPathComponent(command[0]).path, Array(command.dropFirst()), environment: environment, output: log.path
        )
        defer {
            process.send(SIGTERM)
            if process.waitBlocking(timeout: 20) == nil { process.send(SIGKILL) }
        }
        try await eventually("\(command[0]) ready on :\(port) (log: \(log.path))", timeout: .seconds(60)) {
            guard process.isRunning else {
                throw ComposeServiceExited(name: name, log: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
            }
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/health/ready")!)
            request.timeoutInterval = 2
            guard let (_, response) = try? await URLSession.shared.data(for: request) else { return false }
            return (response as? HTTPURLResponse)?.statusCode == 200
        }
    }
}

struct ComposeServiceExited: Error, CustomStringConvertible {
    let name: String
    let log: String
    var description: String { "\(name) exited before it was ready:\n\(log.suffix(2000))" }
}
