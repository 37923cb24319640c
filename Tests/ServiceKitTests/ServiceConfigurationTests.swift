import Foundation
import Configuration
import Kafka
import Logging
import ServiceKit
import Testing

@Suite("Service configuration")
struct ServiceConfigurationTests {
    private func read(_ environment: [String: String], flags: [AbsoluteConfigKey: ConfigValue] = [:]) throws(ServiceKitError) -> ServiceConfiguration {
        let reader = ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: flags),
            EnvironmentVariablesProvider(environmentVariables: environment),
        ])
        return try ServiceConfiguration(service: "payment", defaultPort: 8082, reader: reader)
    }

    @Test("defaults suit a local run")
    func defaults() throws {
        let configuration = try read([:])
        #expect(configuration.kafka.bootstrapServers == ["127.0.0.1:9092"])
        #expect(configuration.kafka.clientID == "ensemble-payment")
        #expect(configuration.httpPort == 8082)
        #expect(configuration.logLevel == .info)
        #expect(configuration.logFormat == .json)
        #expect(configuration.dataDirectory == ".ensemble/data")
        #expect(configuration.databaseURL == nil)
        #expect(configuration.kafkaIdleBackoff == nil, "the host decides: on for the one-process stack")
    }

    @Test("authentication: on unless AUTH=off; the secret from AUTH_JWT_SECRET or a file; without one, not configured; bad values named")
    func access() throws {
        #expect(try read([:]).access == nil, "on, but no secret: a service alone refuses to start")
        #expect(try read(["AUTH": "off"]).access == .off)
        let secret = String(repeating: "k", count: 40)
        #expect(try read(["AUTH_JWT_SECRET": secret]).access == AccessSettings(mode: .tokens(secret: secret)))
        #expect(try read(["AUTH_JWT_SECRET": secret, "AUTH_METRICS": "protected"]).access?.metricsOpen == false)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ensemble-secret-\(UUID().uuidString)")
        try Data((secret + "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try read(["AUTH_JWT_SECRET_FILE": file.path]).access == AccessSettings(mode: .tokens(secret: secret)), "read trimmed")
        for (variable, value) in [("AUTH_JWT_SECRET", "short"), ("AUTH", "maybe"), ("AUTH_METRICS", "public"), ("AUTH_JWT_SECRET_FILE", "/nonexistent/secret")] {
            let error = #expect(throws: ServiceKitError.self) { try read([variable: value]) }
            #expect(error?.message.hasPrefix(variable) == true, "\(error?.message ?? "")")
        }
    }

    @Test("environment variables set every value")
    func environment() throws {
        let configuration = try read([
            "KAFKA_BROKERS": "k1:9092,k2:9092",
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "PLAIN",
            "KAFKA_SASL_USERNAME": "user",
            "KAFKA_SASL_PASSWORD": "secret",
            "KAFKA_PROPERTIES": "compression.type=lz4; linger.ms=2",
            "HTTP_HOST": "0.0.0.0",
            "HTTP_PORT": "9000",
            "LOG_LEVEL": "debug",
            "LOG_FORMAT": "text",
            "DATA_DIRECTORY": "/var/lib/ensemble",
            "DATABASE_URL": "postgres://u:p@db:5432/payment",
            "KAFKA_IDLE_BACKOFF": "off",
        ])
        #expect(configuration.kafka.bootstrapServers == ["k1:9092", "k2:9092"])
        #expect(configuration.kafka.security.securityProtocol == .saslSSL)
        #expect(configuration.kafka.security.saslMechanism == "PLAIN")
        #expect(configuration.kafka.security.saslUsername == "user")
        #expect(configuration.kafka.security.saslPassword == "secret")
        #expect(configuration.kafka.properties == ["compression.type": "lz4", "linger.ms": "2"])
        #expect(configuration.httpHost == "0.0.0.0")
        #expect(configuration.httpPort == 9000)
        #expect(configuration.logLevel == .debug)
        #expect(configuration.logFormat == .text)
        #expect(configuration.dataDirectory == "/var/lib/ensemble")
        #expect(configuration.databaseURL == "postgres://u:p@db:5432/payment")
        #expect(configuration.kafkaIdleBackoff == false)
        #expect(try read(["KAFKA_IDLE_BACKOFF": "ON"]).kafkaIdleBackoff == true)
    }

    @Test("flags win over the environment")
    func flagsWin() throws {
        let configuration = try read(["KAFKA_BROKERS": "env:9092"], flags: ["kafka.brokers": .init(.string("flag:9092"), isSecret: false)])
        #expect(configuration.kafka.bootstrapServers == ["flag:9092"])
    }

    @Test("a bad value is one error naming the variable", arguments: [
        ("HTTP_PORT", "eighty"), ("HTTP_PORT", "70000"), ("KAFKA_BROKERS", "nohost"), ("LOG_LEVEL", "loud"),
        ("LOG_FORMAT", "xml"), ("KAFKA_SECURITY_PROTOCOL", "carrier-pigeon"), ("KAFKA_PROPERTIES", "linger.ms"),
        ("DATABASE_URL", "mysql://db"), ("STARTUP_TIMEOUT_SECONDS", "0"), ("KAFKA_TOPIC_PARTITIONS", "0"), ("KAFKA_TOPIC_PARTITIONS", "many"),
        ("KAFKA_IDLE_BACKOFF", "sometimes"),
    ])
    func invalid(variable: String, value: String) {
        let error = #expect(throws: ServiceKitError.self) { try read([variable: value]) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.hasPrefix("\(variable)=") == true)
    }

    @Test("CHOREOGRAPHY is on unless set to off, and anything else is refused by name")
    func choreographySwitch() throws {
        func settings(_ environment: [String: String]) throws(ServiceKitError) -> HostSettings {
            let reader = ConfigReader(providers: [EnvironmentVariablesProvider(environmentVariables: environment)])
            return try HostSettings.read("payment", defaultPort: 8082, reader: reader, shared: true)
        }
        #expect(try settings([:]).choreography)
        #expect(try settings(["CHOREOGRAPHY": "on"]).choreography)
        #expect(try !settings(["CHOREOGRAPHY": "off"]).choreography)
        let error = #expect(throws: ServiceKitError.self) { try settings(["CHOREOGRAPHY": "maybe"]) }
        #expect(error?.message.hasPrefix("CHOREOGRAPHY=") == true)
    }
}
