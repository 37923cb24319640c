import Foundation
import Kafka
import Messaging
import MessagingTesting
import Testing

/// One trace per order: the intake continues the caller's `traceparent`, and every
/// command, reply and event of the order carries its trace id, each with its own span id.
@Suite("One trace per order", .serialized)
struct TraceTests {
    @Test("an order placed with a traceparent, in each mode: every message of it on every topic is in that trace, each its own span")
    func oneTrace() async throws {
        _ = try TestBroker.servers
        let stack = try StackProcess()
        defer { stack.stop() }
        try await stack.start()
        var placed: [(order: String, trace: String)] = []
        for mode in ["orchestration", "choreography"] {
            let trace = String((0..<32).map { _ in "0123456789abcdef".randomElement()! })
            let body = """
            {"customerId": "bob", "items": [{"sku": "SKU-COFFEE", "quantity": 1, "unitPrice": "9.99"}], "payment": {"card": "4111111111111111"},
             "mode": "\(mode)", "shipTo": {"name": "Test", "line1": "1 Test St", "city": "Testville", "postalCode": "12345", "country": "US"}}
            """
            let (status, data) = try await stack.post("orchestrator", "/orders", json: body, headers: ["traceparent": "00-\(trace)-00f067aa0ba902b7-01"])
            #expect(status == 202)
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            placed.append((try #require(object["orderId"] as? String), trace))
        }
        let orders = placed.map(\.order)
        try await eventually("both orders to finish", timeout: .seconds(60)) {
            for id in orders where try await stack.orderStatus(id) != "completed" { return false }
            return true
        }
        let records = try await stack.allRecords()
        for (order, trace) in placed {
            let messages = records.filter { $0.headers.string(for: EnvelopeHeader.correlationID) == order }
            #expect(messages.count >= 8, "\(order): \(messages.count) messages")
            let parents = messages.compactMap { $0.headers.string(for: EnvelopeHeader.traceparent) }
            #expect(parents.count == messages.count, "every message carries a traceparent")
            let traces = Set(parents.compactMap { Envelope.traceIDs(of: $0)?.trace })
            #expect(traces == [trace], "\(order): traces \(traces)")
            let spans = parents.compactMap { Envelope.traceIDs(of: $0)?.span }
            #expect(Set(spans).count == spans.count, "each message is its own span")
            let view = try await stack.json("orchestrator", "/orders/\(order)") as? [String: Any]
            #expect(view?["traceId"] as? String == trace, "the order's view names its trace")
        }
    }
}
