import Configuration
import Foundation
import Kafka
import Logging

/// The settings every Ensemble service shares, with defaults for a local run.
///
/// Read it with `init(service:defaultPort:reader:)` from a `ConfigReader` that `main`
/// builds (flags first, then environment): keys such as `kafka.brokers` are read from
/// `KAFKA_BROKERS`, `http.port` from `HTTP_PORT` and so on.
public struct ServiceConfiguration: Sendable, Hashable {
    public var serviceName: String
    public var kafka: KafkaClientConfiguration
    public var httpHost: String
    public var httpPort: Int
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// Where SQLite files live when `databaseURL` is not set.
    public var dataDirectory: String
    /// `postgres://...` to use PostgreSQL; otherwise SQLite under `dataDirectory`.
    public var databaseURL: String?
    /// How long start-up waits for a broker before giving up with one clear line.
    public var startupTimeout: Duration
    /// Who may call the HTTP API. A configuration built in code starts with authentication
    /// off (tests); one read from the environment has it on, and nil when no signing secret
    /// is given (see `AccessSettings.read`).
    public var access: AccessSettings?
    /// `KAFKA_IDLE_BACKOFF` (`on` or `off`): whether quiet consumers stop fetching (see
    /// `KafkaIdleBackoff`). Nil when not set: on in the one-process stack, whose producers
    /// wake its consumers, off for a service in a process of its own.
    public var kafkaIdleBackoff: Bool?

    public enum LogFormat: String, Sendable, Hashable, CaseIterable {
        /// Text when standard error is a terminal (a person reads it), JSON otherwise
        /// (a file, a pipe, a log collector): the default when `LOG_FORMAT` is not set.
        public static var forStandardError: LogFormat { isatty(STDERR_FILENO) != 0 ? .text : .json }

        /// One JSON object per line (the default: machines read logs).
        case json
        /// `swift-log`'s plain text, for a person at a terminal.
        case text
    }

    public init(serviceName: String, httpPort: Int) {
        self.serviceName = serviceName
        self.kafka = KafkaClientConfiguration(clientID: "ensemble-\(serviceName)")
        self.httpHost = "127.0.0.1"
        self.httpPort = httpPort
        self.logLevel = .info
        self.logFormat = LogFormat.forStandardError
        self.dataDirectory = ".ensemble/data"
        self.databaseURL = nil
        self.startupTimeout = .seconds(15)
        self.access = .off
    }

    /// Reads every setting from `reader`, falling back to the defaults. Throws one
    /// `.invalidConfiguration` error naming the first bad value.
    ///
    /// Per-process settings (`http.port`, `http.host`, `database.url`) are read first under
    /// the service's name (`PAYMENT_HTTP_PORT`), then, when `shared` is true (a service in
    /// its own process), without it (`HTTP_PORT`). Several services in one process
    /// (`ensemble up`) pass `shared: false` so they do not all take the same port.
    public init(service: String, defaultPort: Int, reader: ConfigReader, shared: Bool = true) throws(ServiceKitError) {
        self.init(serviceName: service, httpPort: defaultPort)
        func local(_ key: String) -> (value: String, variable: String)? {
            if let value = reader.string(forKey: ConfigKey(service + "." + key)) {
                return (value, (service + "_" + key).uppercased().replacingOccurrences(of: ".", with: "_"))
            }
            if shared, let value = reader.string(forKey: ConfigKey(key)) {
                return (value, key.uppercased().replacingOccurrences(of: ".", with: "_"))
            }
            return nil
        }

        if let brokers = reader.string(forKey: "kafka.brokers") {
            do {
                kafka.bootstrapServers = try KafkaClientConfiguration.parseBrokerList(brokers)
            } catch {
                throw .invalid("KAFKA_BROKERS", brokers, expected: "host:port[,host:port...]")
            }
        }
        kafka.clientID = reader.string(forKey: "kafka.client.id") ?? kafka.clientID
        if let text = reader.string(forKey: "kafka.security.protocol") {
            guard let value = KafkaSecurity.SecurityProtocol(rawValue: text.lowercased()) else {
                throw .invalid("KAFKA_SECURITY_PROTOCOL", text, expected: KafkaSecurity.SecurityProtocol.allCases.map(\.rawValue).joined(separator: ", "))
            }
            kafka.security.securityProtocol = value
        }
        kafka.security.saslMechanism = reader.string(forKey: "kafka.sasl.mechanism")
        kafka.security.saslUsername = reader.string(forKey: "kafka.sasl.username")
        kafka.security.saslPassword = reader.string(forKey: "kafka.sasl.password", isSecret: true)
        kafka.security.caLocation = reader.string(forKey: "kafka.ssl.ca.location")
        kafka.security.certificateLocation = reader.string(forKey: "kafka.ssl.certificate.location")
        kafka.security.keyLocation = reader.string(forKey: "kafka.ssl.key.location")
        if let text = reader.string(forKey: "kafka.properties") {
            kafka.properties = try Self.parseProperties(text)
        }

        httpHost = local("http.host")?.value ?? httpHost
        if let (text, variable) = local("http.port") {
            guard let port = Int(text), (0...65535).contains(port) else {
                throw .invalid(variable, text, expected: "a port number 0-65535")
            }
            httpPort = port
        }
        if let text = reader.string(forKey: "log.level") {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw .invalid("LOG_LEVEL", text, expected: Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
            }
            logLevel = level
        }
        if let text = reader.string(forKey: "log.format") {
            guard let format = LogFormat(rawValue: text.lowercased()) else {
                throw .invalid("LOG_FORMAT", text, expected: "json or text")
            }
            logFormat = format
        }
        dataDirectory = reader.string(forKey: "data.directory") ?? dataDirectory
        if let (url, variable) = local("database.url"), !url.isEmpty {
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") || url.hasPrefix("sqlite://") else {
                throw .invalid(variable, url.split(separator: "@").last.map(String.init) ?? url, expected: "postgres://user:password@host:port/database or sqlite://path")
            }
            databaseURL = url
        }
        // Read by the topic catalog itself (it has no configuration); checked here so that a
        // bad value stops start-up instead of quietly meaning 8.
        if let text = reader.string(forKey: "kafka.topic.partitions") {
            guard let count = Int(text), (1...64).contains(count) else {
                throw .invalid("KAFKA_TOPIC_PARTITIONS", text, expected: "a number of partitions from 1 to 64")
            }
        }
        if let text = reader.string(forKey: "kafka.idle.backoff") {
            switch text.lowercased() {
            case "on", "true", "1": kafkaIdleBackoff = true
            case "off", "false", "0": kafkaIdleBackoff = false
            default: throw .invalid("KAFKA_IDLE_BACKOFF", text, expected: "on or off")
            }
        }
        access = try AccessSettings.read(reader)
        if let text = reader.string(forKey: "startup.timeout.seconds") {
            guard let seconds = Int(text), seconds > 0 else {
                throw .invalid("STARTUP_TIMEOUT_SECONDS", text, expected: "a positive number of seconds")
            }
            startupTimeout = .seconds(seconds)
        }
    }

    /// Parses `KAFKA_PROPERTIES`, librdkafka properties as `name=value` pairs separated by `;`,
    /// e.g. `compression.type=lz4;linger.ms=2`.
    public static func parseProperties(_ text: String) throws(ServiceKitError) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: ";") where !pair.allSatisfy(\.isWhitespace) {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw .invalid("KAFKA_PROPERTIES", String(pair), expected: "name=value pairs separated by ';'")
            }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else {
                throw .invalid("KAFKA_PROPERTIES", String(pair), expected: "name=value pairs separated by ';'")
            }
            result[name] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return result
    }
}

