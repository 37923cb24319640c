import Foundation

/// Settings every Kafka client shares: where the brokers are, who we are, how we authenticate.
public struct KafkaClientConfiguration: Sendable, Hashable {
    /// `host:port` pairs used to bootstrap the cluster connection.
    public var bootstrapServers: [String]
    public var clientID: String
    public var security: KafkaSecurity
    /// Any librdkafka property, applied last so it overrides every typed setting.
    /// See librdkafka's CONFIGURATION.md for the names.
    public var properties: [String: String]

    public init(
        bootstrapServers: [String] = ["127.0.0.1:9092"],
        clientID: String = "ensemble",
        security: KafkaSecurity = .plaintext,
        properties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.security = security
        self.properties = properties
    }

    /// Parses a comma-separated broker list such as `KAFKA_BROKERS=a:9092,b:9092`.
    public static func parseBrokerList(_ text: String) throws(KafkaError) -> [String] {
        let brokers = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !brokers.isEmpty else {
            throw KafkaError(code: .configuration, message: "the broker list is empty; expected host:port[,host:port...]")
        }
        for broker in brokers {
            let parts = broker.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 2, let port = Int(parts.last!), (1...65535).contains(port), !parts.dropLast().joined(separator: ":").isEmpty else {
                throw KafkaError(code: .configuration, message: "broker '\(broker)' is not host:port")
            }
        }
        return brokers
    }

    /// The librdkafka properties for these settings (without `properties`, which callers apply last).
    var baseProperties: [String: String] {
        var result = [
            "bootstrap.servers": bootstrapServers.joined(separator: ","),
            "client.id": clientID,
            // Small messages on loopback: do not let Nagle's algorithm hold them back.
            "socket.nagle.disable": "true",
            // Fail fast on an address nobody answers, instead of librdkafka's 30 s.
            "socket.connection.setup.timeout.ms": "10000",
            "reconnect.backoff.ms": "50",
            "reconnect.backoff.max.ms": "2000",
        ]
        result.merge(security.properties) { _, new in new }
        return result
    }
}

/// How clients authenticate and encrypt. Passed through to librdkafka's `security.*`, `sasl.*` and `ssl.*`.
public struct KafkaSecurity: Sendable, Hashable {
    public enum SecurityProtocol: String, Sendable, Hashable, CaseIterable {
        case plaintext
        case ssl
        case saslPlaintext = "sasl_plaintext"
        case saslSSL = "sasl_ssl"
    }

    public var securityProtocol: SecurityProtocol
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    public var saslMechanism: String?
    public var saslUsername: String?
    public var saslPassword: String?
    /// CA bundle to verify the brokers' certificates.
    public var caLocation: String?
    /// Client certificate and key, for mutual TLS.
    public var certificateLocation: String?
    public var keyLocation: String?

    public init(
        securityProtocol: SecurityProtocol = .plaintext,
        saslMechanism: String? = nil,
        saslUsername: String? = nil,
        saslPassword: String? = nil,
        caLocation: String? = nil,
        certificateLocation: String? = nil,
        keyLocation: String? = nil
    ) {
        self.securityProtocol = securityProtocol
        self.saslMechanism = saslMechanism
        self.saslUsername = saslUsername
        self.saslPassword = saslPassword
        self.caLocation = caLocation
        self.certificateLocation = certificateLocation
        self.keyLocation = keyLocation
    }

    public static let plaintext = KafkaSecurity()

    var properties: [String: String] {
        var result = ["security.protocol": securityProtocol.rawValue]
        result["sasl.mechanism"] = saslMechanism
        result["sasl.username"] = saslUsername
        result["sasl.password"] = saslPassword
        result["ssl.ca.location"] = caLocation
        result["ssl.certificate.location"] = certificateLocation
        result["ssl.key.location"] = keyLocation
        return result
    }
}
