import DevTools
import Foundation
import Kafka
import ServiceKit
import Testing

@Suite("An unreachable broker")
struct UnreachableBrokerTests {
    @Test("admin and producer fail with one clear connection error within their timeout")
    func clearErrorInBoundedTime() async throws {
        _ = try TestBroker.servers // this suite also runs only where the real broker is set up
        let port = try EmbeddedBroker.freePort()
        let client = KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:\(port)"])
        let started = ContinuousClock.now

        let admin = try KafkaAdmin(configuration: client, logger: TestBroker.logger)
        let adminError = await #expect(throws: KafkaError.self) { try await admin.metadata(timeout: .seconds(2)) }
        #expect(adminError?.code == .connection)
        #expect(adminError?.isRetriable == true)
        #expect(adminError?.message.contains("127.0.0.1:\(port)") == true)

        let producer = try KafkaProducer(configuration: .init(client: client), logger: TestBroker.logger)
        let producerError = await #expect(throws: KafkaError.self) { try await producer.checkConnection(timeout: .seconds(2)) }
        #expect(producerError?.code == .connection)

        #expect(ContinuousClock.now - started < .seconds(15), "bounded: two 2 s timeouts, with room for a loaded machine")
    }

    @Test("a client set up for SASL against a broker without it fails in bounded time, saying the handshake failed")
    func saslAgainstPlaintext() async throws {
        var client = try TestBroker.client("sasl-test")
        client.security = KafkaSecurity(securityProtocol: .saslPlaintext, saslMechanism: "SCRAM-SHA-256", saslUsername: "ensemble", saslPassword: "secret")
        let started = ContinuousClock.now
        let admin = try KafkaAdmin(configuration: client, logger: TestBroker.logger)
        let error = await #expect(throws: KafkaError.self) { try await admin.metadata(timeout: .seconds(3)) }
        #expect(error?.code == .connection)
        #expect(error?.message.contains("SASL") == true, "the reason is named: \(error?.message ?? "")")
        let producer = try KafkaProducer(configuration: .init(client: client), logger: TestBroker.logger)
        let producerError = await #expect(throws: KafkaError.self) { try await producer.checkConnection(timeout: .seconds(3)) }
        #expect(producerError?.message.contains("SASL") == true)
        #expect(ContinuousClock.now - started < .seconds(12))
    }

    @Test("the ensemble CLI prints one error line and exits non-zero")
    func cliOneLine() async throws {
        _ = try TestBroker.servers
        let port = try EmbeddedBroker.freePort()
        let binary = try EnsembleBinary.path
        let started = ContinuousClock.now
        let (termination, _, output) = try await ChildProcess.run(
            binary, ["topics", "create", "--brokers", "127.0.0.1:\(port)"],
            environment: ["STARTUP_TIMEOUT_SECONDS": "2", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? ""], timeout: .seconds(60)
        )

        #expect(termination != .exited(0))
        let lines = output.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 1, "one line, not a stack trace: \(output)")
        #expect(lines.first?.hasPrefix("Error: ") == true)
        #expect(lines.first?.contains("127.0.0.1:\(port)") == true)
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}

/// The `ensemble` executable built next to the test bundle.
enum EnsembleBinary {
    static var path: String {
        get throws {
            let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for candidate in [directory, directory.deletingLastPathComponent()] {
                let path = candidate.appendingPathComponent("ensemble").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
            throw BinaryMissing(directory: directory.path)
        }
    }

    struct BinaryMissing: Error, CustomStringConvertible {
        let directory: String
        var description: String { "the ensemble executable is not built next to the tests in \(directory); run `swift build --build-tests` (make test does)" }
    }
}
