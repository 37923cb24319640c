import Contracts
import Foundation
import Kafka
import Messaging
import Testing

@Suite("Envelope")
struct EnvelopeTests {
    private func consumed(_ record: KafkaProducerMessage, offset: Int64 = 7) -> KafkaConsumerMessage {
        KafkaConsumerMessage(topic: record.topic, partition: 0, offset: offset, key: record.key, value: record.value, headers: record.headers, timestamp: Date())
    }

    @Test("headers and body survive a round trip through Kafka records")
    func roundTrip() throws {
        let command = VerifyCustomer(customerID: "bob")
        let causation = UUID()
        let envelope = try Envelope(command, correlationID: "order-42", causationID: causation, replyTo: "orchestrator.replies")
        let record = envelope.record(topic: "profile.commands")
        #expect(record.key == Data("order-42".utf8))
        #expect(record.headers.string(for: "message-type") == "profile.verify-customer.v1")
        #expect(record.headers.string(for: "reply-to") == "orchestrator.replies")
        #expect(record.headers.string(for: "causation-id") == causation.uuidString.lowercased())

        let read = try Envelope(record: consumed(record))
        #expect(read.messageID == envelope.messageID)
        #expect(read.messageType == VerifyCustomer.messageType)
        #expect(read.correlationID == "order-42")
        #expect(read.causationID == causation)
        #expect(read.replyTo == "orchestrator.replies")
        #expect(read.traceparent == envelope.traceparent)
        #expect(abs(read.occurredAt.timeIntervalSince(envelope.occurredAt)) < 0.001)
        #expect(try read.decode(VerifyCustomer.self) == command)
    }

    @Test("the body is JSON with the documented field names")
    func bodyShape() throws {
        let envelope = try Envelope(ReserveStock(orderID: "o1", lines: [OrderLine(sku: "SKU-MUG", quantity: 2, unitPrice: Money("7.50")!)]), correlationID: "o1")
        let json = try #require(String(data: envelope.body, encoding: .utf8))
        #expect(json == #"{"lines":[{"quantity":2,"sku":"SKU-MUG","unitPrice":"7.50"}],"orderId":"o1"}"#)
    }

    @Test("a reaction keeps the correlation and trace and points back at its cause")
    func reaction() throws {
        let command = try Envelope(VerifyCustomer(customerID: "alice"), correlationID: "order-1", replyTo: "orchestrator.replies")
        let reply = try command.reaction(CustomerVerified(customerID: "alice", tier: .standard))
        #expect(reply.correlationID == "order-1")
        #expect(reply.causationID == command.messageID)
        #expect(reply.messageID != command.messageID)
        #expect(reply.key == command.key)
        let commandTrace = try #require(command.traceparent?.split(separator: "-"))
        let replyTrace = try #require(reply.traceparent?.split(separator: "-"))
        #expect(commandTrace.count == 4 && replyTrace.count == 4)
        #expect(replyTrace[1] == commandTrace[1], "same trace id")
        #expect(replyTrace[2] != commandTrace[2], "new span id")
    }

    @Test("a missing required header is named", arguments: ["message-id", "message-type", "correlation-id", "occurred-at"])
    func missingHeader(header: String) throws {
        var record = try Envelope(VerifyCustomer(customerID: "bob"), correlationID: "o").record(topic: "t")
        record.headers.removeAll { $0.key == header }
        #expect(throws: MessagingError(code: .missingHeader, message: "header '\(header)' is missing")) {
            try Envelope(record: consumed(record))
        }
    }

    @Test("an unreadable message id or timestamp is an invalid header")
    func invalidHeaders() throws {
        var record = try Envelope(VerifyCustomer(customerID: "bob"), correlationID: "o").record(topic: "t")
        record.headers = record.headers.map { $0.key == "message-id" ? KafkaHeader(key: "message-id", string: "not-a-uuid") : $0 }
        let badID = try #require(throws: MessagingError.self) { try Envelope(record: consumed(record)) }
        #expect(badID.code == .invalidHeader)
        #expect(badID.message.contains("not-a-uuid") == true)

        record = try Envelope(VerifyCustomer(customerID: "bob"), correlationID: "o").record(topic: "t")
        record.headers = record.headers.map { $0.key == "occurred-at" ? KafkaHeader(key: "occurred-at", string: "yesterday") : $0 }
        let badTime = try #require(throws: MessagingError.self) { try Envelope(record: consumed(record)) }
        #expect(badTime.code == .invalidHeader)
    }

    @Test("decoding a malformed body names the field")
    func malformedBody() throws {
        let envelope = Envelope(messageType: AuthorizePayment.messageType, correlationID: "o", body: Data(#"{"orderId":"o","customerId":"c","amount":"12.345","cardNumber":"4111","processor":"primary"}"#.utf8))
        let error = try #require(throws: MessagingError.self) { try envelope.decode(AuthorizePayment.self) }
        #expect(error.code == .malformedBody)
        #expect(error.message.contains("amount") == true)

        let missing = Envelope(messageType: VerifyCustomer.messageType, correlationID: "o", body: Data("{}".utf8))
        let missingError = try #require(throws: MessagingError.self) { try missing.decode(VerifyCustomer.self) }
        #expect(missingError.message.contains("missing field 'customerId'") == true)
    }

    @Test("unknown fields are ignored, so optional fields can be added within a version")
    func unknownFieldsIgnored() throws {
        let envelope = Envelope(messageType: VerifyCustomer.messageType, correlationID: "o", body: Data(#"{"customerId":"bob","addedLater":true}"#.utf8))
        #expect(try envelope.decode(VerifyCustomer.self) == VerifyCustomer(customerID: "bob"))
    }
}

@Suite("Random UUIDs")
struct RandomUUIDTests {
    @Test("from the system generator: the version and variant bits set, and no repeats in 10,000")
    func system() {
        var seen = Set<UUID>()
        for _ in 0..<10_000 {
            let uuid = UUID.random()
            let text = Array(uuid.uuidString)
            #expect(text[14] == "4")
            #expect("89AB".contains(text[19]))
            seen.insert(uuid)
        }
        #expect(seen.count == 10_000)
    }

    @Test("time-ordered: version 7, the milliseconds in the first 48 bits, later ids sort after earlier ones as text")
    func timeOrdered() {
        let uuid = UUID.timeOrdered(at: Date(timeIntervalSince1970: 1_765_000_000.123))
        let text = Array(uuid.uuidString)
        #expect(text[14] == "7")
        #expect("89AB".contains(text[19]))
        // 1,765,000,000,123 ms is 0x019AF232B27B.
        #expect(uuid.uuidString.hasPrefix("019AF232-B27B-7"))
        var earlier = UUID.timeOrdered(at: Date(timeIntervalSince1970: 1_765_000_000))
        var seen: Set<UUID> = [earlier]
        for step in 1...2_000 {
            let later = UUID.timeOrdered(at: Date(timeIntervalSince1970: 1_765_000_000 + Double(step) / 1000))
            #expect(later.uuidString.lowercased() > earlier.uuidString.lowercased())
            seen.insert(later)
            earlier = later
        }
        #expect(seen.count == 2_001)
    }
}

@Suite("UUID text")
struct UUIDTextTests {
    @Test("written as Foundation writes it, lowercased; read back in either case")
    func roundTrip() {
        for _ in 0..<2_000 {
            let uuid = UUID.random()
            #expect(uuid.lowercasedText == uuid.uuidString.lowercased())
            #expect(UUID(text: uuid.lowercasedText) == uuid)
            #expect(UUID(text: uuid.uuidString) == uuid)
        }
        #expect(UUID(text: "00000000-0000-0000-0000-000000000000")?.lowercasedText == "00000000-0000-0000-0000-000000000000")
        #expect(UUID(text: "FFFFFFFF-ffff-FFFF-ffff-FFFFFFFFFFFF")?.lowercasedText == "ffffffff-ffff-ffff-ffff-ffffffffffff")
    }

    @Test("anything but the 8-4-4-4-12 form is refused, like UUID(uuidString:)",
          arguments: ["", "019af232-b27b-7c3e-9a41-5d2f0e6b8c1", "019af232-b27b-7c3e-9a41-5d2f0e6b8c177", "019af232b27b-7c3e-9a41-5d2f0e6b8c177",
                      "019af232-b27b-7c3e-9a41_5d2f0e6b8c17", "019af232-b27b-7c3e-9a41-5d2f0e6b8c1g", "{019af232-b27b-7c3e-9a41-5d2f0e6b8c17}",
                      " 019af232-b27b-7c3e-9a41-5d2f0e6b8c17", "019af232-b27b-7c3e-9a41-5d2f0e6b8c1é"])
    func refused(_ text: String) {
        #expect(UUID(text: text) == nil)
        #expect(UUID(uuidString: text) == nil)
    }
}
