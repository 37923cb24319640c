import Contracts
import Foundation
import Messaging
import PaymentCore
import SQLKit
import ServiceKit
import Storage
import Testing

@Suite("Payment service")
struct PaymentServiceTests {
    private let goodCard = "4111111111111111"

    private func ledger(_ harness: Harness, order: String) async throws -> [String] {
        try await harness.database.read { sql in
            try await sql.raw("SELECT entry FROM ledger WHERE order_id = \(bind: order) ORDER BY id").all().map { try $0.decode(column: "entry", as: String.self) }
        }
    }

    @Test("authorize, capture and refund, with a ledger entry for each")
    func happyPath() async throws {
        let harness = try await Harness.make(PaymentService())
        try await harness.running { harness in
            let authorize = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: Money("120.50")!, cardNumber: goodCard), correlation: "o1")
            let authorized = try await harness.reply(to: authorize, as: PaymentAuthorized.self)
            #expect(authorized.amount == Money("120.50")!)
            #expect(authorized.processor == .primary)
            #expect(authorized.authorizationID.hasPrefix("AUTH-P-"))

            let capture = try await harness.send(CapturePayment(orderID: "o1"), correlation: "o1")
            #expect(try await harness.reply(to: capture, as: PaymentCaptured.self).amount == Money("120.50")!)
            let refund = try await harness.send(RefundPayment(orderID: "o1"), correlation: "o1")
            #expect(try await harness.reply(to: refund, as: PaymentRefunded.self).amount == Money("120.50")!)
            #expect(try await ledger(harness, order: "o1") == ["authorize", "capture", "refund"])
        }
    }

    @Test("the test card and an amount over the limit are declined, not failed", arguments: [
        ("alice", "4000000000000002", "10.00", "card declined"),
        ("alice", "4111111111111111", "500.01", "exceeds the customer's limit of 500.00"),
        ("someone", "4111111111111111", "1000.01", "limit of 1000.00"),
    ])
    func declines(customer: String, card: String, amount: String, reason: String) async throws {
        let harness = try await Harness.make(PaymentService())
        try await harness.running { harness in
            let command = try await harness.send(AuthorizePayment(orderID: "o1", customerID: customer, amount: Money(amount)!, cardNumber: card), correlation: "o1")
            let declined = try await harness.reply(to: command, as: PaymentDeclined.self)
            #expect(declined.reason.contains(reason))
            #expect(try await ledger(harness, order: "o1") == ["decline"])
            let void = try await harness.send(VoidPayment(orderID: "o1"), correlation: "o1")
            #expect(try await harness.reply(to: void, as: PaymentVoided.self).amount == .zero, "nothing to void")
        }
    }

    @Test("a processor outage is a technical failure; the backup processor still authorizes")
    func outageAndFallback() async throws {
        let processors = PaymentProcessors(primary: .init(failureRate: 1), backup: .init())
        let harness = try await Harness.make(PaymentService(processors: processors))
        try await harness.running { harness in
            let primary = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: 50, cardNumber: goodCard, processor: .primary), correlation: "o1")
            let failed = try await harness.reply(to: primary, as: PaymentFailed.self)
            #expect(failed.processor == .primary)
            let backup = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: 50, cardNumber: goodCard, processor: .backup), correlation: "o1")
            #expect(try await harness.reply(to: backup, as: PaymentAuthorized.self).processor == .backup)
            #expect(try await ledger(harness, order: "o1") == ["processor-error", "authorize"])
        }
    }

    @Test("authorizing an order twice, even with new messages, holds the amount once; void releases it")
    func idempotentPerOrder() async throws {
        let harness = try await Harness.make(PaymentService())
        try await harness.running { harness in
            let first = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: 70, cardNumber: goodCard), correlation: "o1")
            let a = try await harness.reply(to: first, as: PaymentAuthorized.self)
            let second = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: 70, cardNumber: goodCard), correlation: "o1")
            let b = try await harness.reply(to: second, as: PaymentAuthorized.self)
            #expect(a.authorizationID == b.authorizationID)
            let void = try await harness.send(VoidPayment(orderID: "o1"), correlation: "o1")
            #expect(try await harness.reply(to: void, as: PaymentVoided.self).amount == 70)
            #expect(try await ledger(harness, order: "o1") == ["authorize", "void"])
        }
    }

    @Test("decline rules and command checks")
    func rules() {
        #expect(PaymentRules.declineReason(amount: 10, cardNumber: "4000 0000 0000 0002", limit: 100) != nil)
        #expect(PaymentRules.declineReason(amount: 100, cardNumber: goodCard, limit: 100) == nil, "the limit itself is allowed")
        #expect(PaymentRules.declineReason(amount: Money("100.01")!, cardNumber: goodCard, limit: 100) != nil)
        #expect(PaymentRules.problem(amount: .zero, cardNumber: goodCard) != nil)
        #expect(PaymentRules.problem(amount: 1, cardNumber: "41x1") != nil)
        #expect(PaymentRules.problem(amount: 1, cardNumber: goodCard) == nil)
    }

    @Test("processor fault settings parse like service faults")
    func processorSettings() throws {
        let processors = try PaymentProcessors.parse(primary: "failure=1, latency=20ms", backup: nil)
        #expect(processors.primary == FaultPlan.Rule(failureRate: 1, latency: .milliseconds(20)))
        #expect(processors.backup == FaultPlan.Rule())
        #expect(throws: ServiceKitError.self) { try PaymentProcessors.parse(primary: "failure=2", backup: nil) }
    }
}
