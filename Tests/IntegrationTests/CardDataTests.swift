import Foundation
import Kafka
import Messaging
import MessagingTesting
import SQLKit
import Storage
import Testing

/// Card numbers stay in the payment service: placed with known numbers, in both modes,
/// they must not appear in any topic, in any database file (the payment vault keeps them
/// encrypted), in the log, or in any API answer.
@Suite("Card numbers stay in the payment service", .serialized)
struct CardDataTests {
    static let cards = ["4242424242424242", "5555555555554444", "4000000000000002"]

    @Test("orders with known card numbers, orchestrated and choreographed: zero hits in every topic, database file, log line and API answer")
    func scan() async throws {
        _ = try TestBroker.servers
        let stack = try StackProcess()
        defer { stack.stop() }
        try await stack.start()
        var orders: [String] = []
        for (index, card) in Self.cards.enumerated() {
            for mode in ["orchestration", "choreography"] {
                let body = """
                {"customerId": "\(index % 2 == 0 ? "bob" : "alice")", "items": [{"sku": "SKU-COFFEE", "quantity": 1, "unitPrice": "9.99"}],
                 "payment": {"card": "\(card)", "billingName": "Card Test"}, "mode": "\(mode)",
                 "shipTo": {"name": "Test", "line1": "1 Test St", "city": "Testville", "postalCode": "12345", "country": "US"}}
                """
                let (status, data) = try await stack.post("orchestrator", "/orders", json: body)
                #expect(status == 202, "\(String(decoding: data, as: UTF8.self))")
                let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                orders.append(try #require(object["orderId"] as? String))
            }
        }
        let placed = orders
        try await eventually("every order to finish", timeout: .seconds(90)) {
            for id in placed {
                guard let status = try await stack.orderStatus(id), !["running", "compensating"].contains(status) else { return false }
            }
            return true
        }
        var hits: [String] = []
        func scan(_ text: String, _ place: String) {
            for card in Self.cards where text.contains(card) { hits.append("\(card) in \(place)") }
        }

        // The API answers about those orders and their customers.
        for id in orders {
            for (service, path) in [("orchestrator", "/orders/\(id)"), ("aggregator", "/orders/\(id)/view"), ("payment", "/payments?orderId=\(id)"), ("shipping", "/shipments?orderId=\(id)")] {
                let (_, data) = try await stack.get(service, path)
                scan(String(decoding: data, as: UTF8.self), "GET \(service)\(path)")
            }
        }
        for customer in ["bob", "alice"] {
            for path in ["/profiles/\(customer)", "/profiles/\(customer)?mode=live"] {
                let (_, data) = try await stack.get("aggregator", path)
                scan(String(decoding: data, as: UTF8.self), "GET aggregator\(path)")
            }
        }

        // Every record of every topic, headers included.
        let records = try await stack.allRecords()
        #expect(records.contains { $0.topic == "payment.commands" }, "the payment commands are there to scan")
        for record in records {
            let headers = record.headers.map { "\($0.key)=\($0.stringValue ?? "")" }.joined(separator: " ")
            scan(String(decoding: record.value, as: UTF8.self) + " " + headers + " " + (record.keyString ?? ""), "\(record.topic)@\(record.offset)")
        }

        // Every database file, WAL included, byte for byte; and the log.
        let data = stack.directory.appendingPathComponent("data")
        var files = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: data.path) {
            let bytes = try Data(contentsOf: data.appendingPathComponent(name))
            scan(String(decoding: bytes, as: UTF8.self), "database file \(name)")
            files += 1
        }
        #expect(files >= 6)
        scan(stack.logText, "the stack's log")
        #expect(hits.isEmpty, "\(hits.count) hits: \(hits.prefix(10))")

        // The vault kept them (encrypted: the scan above read its file too).
        let payment = try await SQLiteStore.open(path: data.appendingPathComponent("payment.sqlite").path, logger: TestBroker.logger)
        let kept = try await payment.read { sql in
            try await sql.raw("SELECT last4 FROM card_vault").all().map { try $0.decode(column: "last4", as: String.self) }
        }
        try await payment.close()
        #expect(Set(kept) == Set(Self.cards.map { String($0.suffix(4)) }), "one vault entry per card, each order's")
        #expect(kept.count == orders.count)
    }
}

extension StackProcess {
    /// Every record of every topic of the catalog on the stack's broker, read up to the
    /// high watermarks (failing, not hanging, if that takes over a minute).
    func allRecords() async throws -> [KafkaConsumerMessage] {
        let client = KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:\(brokerPort)"], clientID: "record-scan")
        let admin = try KafkaAdmin(configuration: client, logger: TestBroker.logger)
        let ends = try await admin.highWatermarks(TopicCatalog.allTopics, timeout: .seconds(10)).filter { $0.value > 0 }
        guard !ends.isEmpty else { return [] }
        let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
            client: client, groupID: TestBroker.unique("record-scan"),
            consumption: .assign(ends.keys.map { KafkaTopicPartition(topic: $0.topic, partition: $0.partition, start: .beginning) })
        ), logger: TestBroker.logger)
        let total = Int(ends.values.reduce(0, +))
        var records: [KafkaConsumerMessage] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            // A deadline: the reading stops (and the count below fails) rather than hang.
            group.addTask {
                try await Task.sleep(for: .seconds(60))
                consumer.shutdownGracefully()
            }
            for try await record in consumer.messages {
                records.append(record)
                if records.count >= total { break }
            }
            group.cancelAll()
        }
        #expect(records.count == total, "every record up to the high watermarks read")
        return records
    }
}
