import Contracts
import Foundation
import Messaging
@testable import OrchestratorCore
import Storage
import Testing

/// The hand-written saga document against `JSONEncoder` over the synthesized conformance:
/// the same bytes at every point of a checkout, and read back to the same saga.
@Suite("Saga state JSON")
struct SagaStateJSONTests {
    /// Both writers agree on `saga`, and the text decodes to it.
    private func expectSameDocument(_ saga: SagaInstance, _ moment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let written = saga.stateJSON()
        let encoded = try StorageJSON.encode(saga)
        #expect(written == encoded, "\(moment): the documents differ", sourceLocation: sourceLocation)
        // Read back and written again, the same text (timestamps keep milliseconds, so the
        // instants themselves can differ below that from the in-memory saga's).
        let decoded = try MessageCoding.decode(SagaInstance.self, from: Data(written.utf8))
        #expect(decoded.stateJSON() == written, "\(moment): read back differently", sourceLocation: sourceLocation)
        #expect(decoded.steps.mapValues(\.status) == saga.steps.mapValues(\.status) && decoded.data == saga.data, sourceLocation: sourceLocation)
    }

    @Test("a completed checkout: the same document after every reply")
    func happyPath() throws {
        var driver = try EngineDriver(total: "150.00")
        try expectSameDocument(driver.saga, "started")
        try driver.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .premium))
        try expectSameDocument(driver.saga, "verified")
        try driver.reply("reserve-stock", StockReserved(orderID: "o1"))
        try driver.reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "A-1", amount: 150, processor: .primary))
        try expectSameDocument(driver.saga, "shipment requested")
        try driver.reply("schedule-shipment", ShipmentScheduled(orderID: "o1", carrier: "G", trackingNumber: "T", labelReference: "L", fee: 0, priority: true))
        try driver.reply("capture-payment", PaymentCaptured(orderID: "o1", amount: 150))
        try driver.reply("commit-stock", StockCommitted(orderID: "o1", lines: []))
        #expect(driver.saga.status == .completed)
        try expectSameDocument(driver.saga, "completed")
    }

    @Test("retries, a timeout, the fallback processor and compensation: the same document throughout")
    func unhappyPath() throws {
        var driver = try EngineDriver()
        driver.advance(by: 3.1)
        try expectSameDocument(driver.saga, "verification timed out")
        driver.advance(by: 0.5)
        try driver.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        try driver.reply("authorize-payment", PaymentFailed(orderID: "o1", processor: .primary, reason: "down \"hard\"\n"))
        driver.advance(by: 0.2)
        try driver.reply("authorize-payment", PaymentFailed(orderID: "o1", processor: .primary, reason: "down"))
        try expectSameDocument(driver.saga, "on the backup processor")
        try driver.reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "B", amount: 25, processor: .backup))
        try driver.reply("reserve-stock", StockReservationFailed(orderID: "o1", shortSKUs: ["SKU-COFFEE"]))
        try expectSameDocument(driver.saga, "compensating")
        try driver.reply("authorize-payment", PaymentVoided(orderID: "o1", amount: 25))
        #expect(driver.saga.status.isFinished)
        try expectSameDocument(driver.saga, "finished")
    }

    @Test("every member set, awkward text and numbers: the same document, and every stored property in it")
    func everyMember() throws {
        var driver = try EngineDriver()
        var saga = driver.saga
        saga.status = .needsAttention
        saga.failure = "tab\there, quote \" backslash \\ slash / bell \u{07} backspace \u{08} form \u{0C}"
        saga.attention = ["refund by hand", "é ✓ 🧾"]
        saga.finishedAt = driver.now.addingTimeInterval(0.123)
        saga.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        saga.compensationQueue = ["reserve-stock"]
        saga.data.set("odd.amount", to: .number(Decimal(string: "-1234.5678")!))
        saga.data.set("odd.list", to: .array([.null, .bool(true), .bool(false), .number(0), .string("")]))
        saga.data.set("odd.Upper", to: .string("capital key"))
        saga.history.append(SagaEvent(at: driver.now, step: nil, event: .decision, detail: nil))
        var step = try #require(saga.steps["verify-customer"])
        step.uncertain = true
        step.resumed = true
        step.stuckSince = driver.now
        step.completedSequence = 3
        step.finishedAt = driver.now
        step.outcome = "line one\nline two"
        step.attempts[0].finishedAt = driver.now
        step.attempts[0].result = "ok"
        saga.steps["verify-customer"] = step
        driver.saga = saga
        try expectSameDocument(saga, "every member")

        // Each stored property of the three types is a key of the document (a property added
        // to a type without adding it to the writer fails here).
        let text = saga.stateJSON()
        let attempt = try #require(step.attempts.first)
        let labels = [Mirror(reflecting: saga), Mirror(reflecting: step), Mirror(reflecting: attempt)].flatMap { $0.children.compactMap(\.label) }
        for label in labels {
            #expect(text.contains("\"\(label)\":"), "'\(label)' is not written")
        }
    }

    @Test("the writer's pieces: nested containers, commas and escapes")
    func writer() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("a"); writer.beginArray(); writer.number(1); writer.beginObject(); writer.endObject(); writer.strings(["x", "y"]); writer.endArray()
        writer.member("absent", Optional<String>.none)
        writer.key("b\"c"); writer.string("\u{01}")
        writer.endObject()
        #expect(writer.text == #"{"a":[1,{},["x","y"]],"b\"c":"\u0001"}"#)
    }
}
