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
            let authorize = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: Money("120.50")!, card: .number(goodCard)), correlation: "o1")
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

    @Test("a sealed card is opened, kept in the vault encrypted, and only its brand and last four digits leave the service")
    func vault() async throws {
        let keys = try CardVaultKeys(secret: CardVaultKeys.newSecret())
        let harness = try await Harness.make(PaymentService(vault: keys))
        try await harness.running { harness in
            let sealed = try keys.sealer.seal(goodCard)
            let authorize = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: 25, card: sealed), correlation: "o1")
            let authorized = try await harness.reply(to: authorize, as: PaymentAuthorized.self)
            #expect(authorized.card == MaskedCard(brand: "visa", last4: "1111"))
            let declined = try await harness.send(AuthorizePayment(orderID: "o2", customerID: "bob", amount: 25, card: try keys.sealer.seal(PaymentRules.declinedTestCard)), correlation: "o2")
            #expect(try await harness.replies(to: declined).first?.messageType == PaymentDeclined.messageType, "the rules see the number inside")

            let rows = try await harness.database.read { sql in
                try await sql.raw("SELECT order_id, ciphertext, last4 FROM card_vault ORDER BY order_id").all().map {
                    (try $0.decode(column: "order_id", as: String.self), try $0.decode(column: "ciphertext", as: String.self), try $0.decode(column: "last4", as: String.self))
                }
            }
            #expect(rows.map(\.0) == ["o1", "o2"])
            #expect(rows.allSatisfy { !$0.1.contains(goodCard) && !$0.1.contains(PaymentRules.declinedTestCard) }, "encrypted at rest")
            #expect(try keys.decrypt(rows[0].1) == goodCard)
            let everything = harness.bus.envelopes(in: harness.eventsTopic) + harness.bus.envelopes(in: Harness.replies)
            #expect(everything.allSatisfy { !String(decoding: $0.body, as: UTF8.self).contains(goodCard) })

            // Sealed for another vault: refused as invalid, and dead-lettered.
            let foreign = try CardVaultKeys(secret: CardVaultKeys.newSecret()).sealer.seal(goodCard)
            let stranger = try await harness.send(AuthorizePayment(orderID: "o3", customerID: "bob", amount: 25, card: foreign), correlation: "o3")
            #expect(try await harness.replies(to: stranger).first?.messageType == CommandRejected.messageType)
            try await eventually("the foreign card dead-lettered") { harness.deadLetters.count == 1 }
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
            let command = try await harness.send(AuthorizePayment(orderID: "o1", customerID: customer, amount: Money(amount)!, card: .number(card)), correlation: "o1")
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
            let primary = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: 50, card: .number(goodCard), processor: .primary), correlation: "o1")
            let failed = try await harness.reply(to: primary, as: PaymentFailed.self)
            #expect(failed.processor == .primary)
            let backup = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: 50, card: .number(goodCard), processor: .backup), correlation: "o1")
            #expect(try await harness.reply(to: backup, as: PaymentAuthorized.self).processor == .backup)
            #expect(try await ledger(harness, order: "o1") == ["processor-error", "authorize"])
        }
    }

    @Test("authorizing an order twice, even with new messages, holds the amount once; void releases it")
    func idempotentPerOrder() async throws {
        let harness = try await Harness.make(PaymentService())
        try await harness.running { harness in
            let first = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: 70, card: .number(goodCard)), correlation: "o1")
            let a = try await harness.reply(to: first, as: PaymentAuthorized.self)
            let second = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: 70, card: .number(goodCard)), correlation: "o1")
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
