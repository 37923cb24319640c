import Kafka
import Testing

@Suite("Kafka configuration")
struct KafkaConfigurationTests {
    @Test("producer defaults are durable and tuned for latency")
    func producerDefaults() {
        let properties = KafkaProducerConfiguration(client: .init(bootstrapServers: ["a:9092", "b:9093"], clientID: "svc")).librdkafkaProperties
        #expect(properties["bootstrap.servers"] == "a:9092,b:9093")
        #expect(properties["client.id"] == "svc")
        #expect(properties["enable.idempotence"] == "true")
        #expect(properties["acks"] == "all")
        #expect(properties["linger.ms"] == "1")
        #expect(properties["socket.nagle.disable"] == "true")
        #expect(properties["message.timeout.ms"] == "30000")
        #expect(properties["security.protocol"] == "plaintext")
    }

    @Test("consumer defaults commit manually and keep group waits short")
    func consumerDefaults() {
        let properties = KafkaConsumerConfiguration(groupID: "g", consumption: .subscribe(["t"])).librdkafkaProperties
        #expect(properties["group.id"] == "g")
        #expect(properties["enable.auto.commit"] == "false")
        #expect(properties["enable.auto.offset.store"] == "false")
        #expect(properties["auto.offset.reset"] == "earliest")
        #expect(properties["session.timeout.ms"] == "6000")
        #expect(properties["heartbeat.interval.ms"] == "2000")
        #expect(properties["fetch.wait.max.ms"] == "20")
    }

    @Test("passthrough properties override typed settings")
    func passthrough() {
        var client = KafkaClientConfiguration()
        client.properties = ["linger.ms": "5", "compression.type": "lz4"]
        let properties = KafkaProducerConfiguration(client: client, lingerMilliseconds: 0.5).librdkafkaProperties
        #expect(properties["linger.ms"] == "5")
        #expect(properties["compression.type"] == "lz4")
        #expect(KafkaProducerConfiguration(lingerMilliseconds: 0.5).librdkafkaProperties["linger.ms"] == "0.5")
    }

    @Test("security settings reach librdkafka")
    func security() {
        let client = KafkaClientConfiguration(security: KafkaSecurity(
            securityProtocol: .saslSSL, saslMechanism: "SCRAM-SHA-512", saslUsername: "u", saslPassword: "p", caLocation: "/ca.pem"
        ))
        let properties = KafkaProducerConfiguration(client: client).librdkafkaProperties
        #expect(properties["security.protocol"] == "sasl_ssl")
        #expect(properties["sasl.mechanism"] == "SCRAM-SHA-512")
        #expect(properties["sasl.username"] == "u")
        #expect(properties["sasl.password"] == "p")
        #expect(properties["ssl.ca.location"] == "/ca.pem")
        #expect(properties["ssl.key.location"] == nil)
    }

    @Test("broker lists parse, and bad ones are refused with the culprit named")
    func brokerLists() throws {
        #expect(try KafkaClientConfiguration.parseBrokerList("a:1, b:2 ,c:9092") == ["a:1", "b:2", "c:9092"])
        for bad in ["", " , ", "localhost", "host:port", "host:0", ":9092", "h:70000"] {
            let error = #expect(throws: KafkaError.self) { try KafkaClientConfiguration.parseBrokerList(bad) }
            #expect(error?.code == .configuration)
        }
    }

    @Test("librdkafka rejects an unknown property with a configuration error")
    func unknownProperty() {
        var client = KafkaClientConfiguration()
        client.properties = ["no.such.property": "1"]
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(configuration: .init(client: client), logger: .init(label: "test"))
        }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("no.such.property") == true)
    }

    @Test("the loaded librdkafka is new enough")
    func version() throws {
        try KafkaLibrary.checkVersion()
        #expect(!KafkaLibrary.version.hasPrefix("2.0."))
    }
}
