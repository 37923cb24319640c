import Contracts
import Foundation
import InventoryCore
import Messaging
import PaymentCore
import SQLKit
import ServiceKit
import ShippingCore
import Storage
import Testing

/// A participant that refuses a command answers with `participant.command-rejected.v1`,
/// so the sender is told at once; only what breaks the contract is also dead-lettered.
@Suite("Business refusals are replies")
struct RefusalTests {
    private let card = "4111111111111111"

    private func rejection(_ harness: Harness, _ command: Envelope) async throws -> CommandRejected {
        try await harness.reply(to: command, as: CommandRejected.self)
    }

    @Test("payment: capturing without an authorization, or voiding a capture, is answered with a refusal, not dead-lettered")
    func payment() async throws {
        let harness = try await Harness.make(PaymentService())
        try await harness.running { harness in
            let capture = try await harness.send(CapturePayment(orderID: "nothing"), correlation: "nothing")
            let refused = try await rejection(harness, capture)
            #expect(refused.service == "payment" && refused.commandType == CapturePayment.messageType)
            #expect(refused.reason.contains("no authorization to capture"))

            let authorize = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: 20, card: .number(card)), correlation: "o1")
            _ = try await harness.reply(to: authorize, as: PaymentAuthorized.self)
            _ = try await harness.reply(to: try await harness.send(CapturePayment(orderID: "o1"), correlation: "o1"), as: PaymentCaptured.self)
            let void = try await harness.send(VoidPayment(orderID: "o1"), correlation: "o1")
            #expect(try await rejection(harness, void).reason.contains("needs a refund"))

            // Sent again (a redelivery), the same refusal comes back: it is recorded like any answer.
            try await harness.resend(void)
            let again = try await harness.replies(to: void, count: 2)
            #expect(again.map(\.messageType) == [CommandRejected.messageType, CommandRejected.messageType])
            #expect(harness.deadLetters.isEmpty)
        }
    }

    @Test("payment: reverse fits the payment's state: an authorization is voided, a capture refunded, nothing is nothing")
    func reverse() async throws {
        let harness = try await Harness.make(PaymentService())
        try await harness.running { harness in
            _ = try await harness.reply(to: try await harness.send(AuthorizePayment(orderID: "held", customerID: "bob", amount: 20, card: .number(card)), correlation: "held"), as: PaymentAuthorized.self)
            let voided = try await harness.reply(to: try await harness.send(ReversePayment(orderID: "held"), correlation: "held"), as: PaymentVoided.self)
            #expect(voided.amount == 20)

            _ = try await harness.reply(to: try await harness.send(AuthorizePayment(orderID: "taken", customerID: "bob", amount: 30, card: .number(card)), correlation: "taken"), as: PaymentAuthorized.self)
            _ = try await harness.reply(to: try await harness.send(CapturePayment(orderID: "taken"), correlation: "taken"), as: PaymentCaptured.self)
            let refunded = try await harness.reply(to: try await harness.send(ReversePayment(orderID: "taken"), correlation: "taken"), as: PaymentRefunded.self)
            #expect(refunded.amount == 30)
            // Reversing twice changes nothing more.
            #expect(try await harness.reply(to: try await harness.send(ReversePayment(orderID: "taken"), correlation: "taken"), as: PaymentRefunded.self).amount == 30)

            #expect(try await harness.reply(to: try await harness.send(ReversePayment(orderID: "never"), correlation: "never"), as: PaymentVoided.self).amount == .zero)
            let ledger = try await harness.database.read { sql in
                try await sql.raw("SELECT order_id, entry FROM ledger ORDER BY id").all().map { "\(try $0.decode(column: "order_id", as: String.self)):\(try $0.decode(column: "entry", as: String.self))" }
            }
            #expect(ledger == ["held:authorize", "held:void", "taken:authorize", "taken:capture", "taken:refund"])
        }
    }

    @Test("payment: an authorization with a negative amount is answered with a refusal and dead-lettered as invalid")
    func invalidAuthorization() async throws {
        let harness = try await Harness.make(PaymentService())
        try await harness.running { harness in
            let command = try await harness.send(AuthorizePayment(orderID: "o1", customerID: "bob", amount: Money(minorUnits: -500), card: .number(card)), correlation: "o1")
            #expect(try await rejection(harness, command).reason.contains("is not positive"))
            try await eventually("the dead letter") { harness.deadLetters.count == 1 }
            #expect(harness.bus.records(in: TopicCatalog.deadLetter(for: harness.commandsTopic)).first?.headers.string(for: DeadLetterHeader.reason) == "rejected")
        }
    }

    @Test("inventory: committing without a reservation is refused with a reply; invalid lines are refused and dead-lettered")
    func inventory() async throws {
        let harness = try await Harness.make(InventoryService())
        try await harness.running { harness in
            let commit = try await harness.send(CommitStock(orderID: "none"), correlation: "none")
            #expect(try await rejection(harness, commit).reason.contains("no reservation to commit"))
            #expect(harness.deadLetters.isEmpty)

            let invalid = try await harness.send(ReserveStock(orderID: "o2", lines: [OrderLine(sku: "SKU-MUG", quantity: -1, unitPrice: 1)]), correlation: "o2")
            #expect(try await rejection(harness, invalid).reason.contains("not positive"))
            try await eventually("the dead letter") { harness.deadLetters.count == 1 }
        }
    }

    @Test("shipping: a cancelled shipment is not scheduled again; the refusal is a reply")
    func shipping() async throws {
        let harness = try await Harness.make(ShippingService())
        let address = Address(name: "T", line1: "1", city: "C", postalCode: "1", country: "US")
        try await harness.running { harness in
            _ = try await harness.reply(to: try await harness.send(ScheduleShipment(orderID: "o1", shipTo: address, priority: false, free: false), correlation: "o1"), as: ShipmentScheduled.self)
            _ = try await harness.reply(to: try await harness.send(CancelShipment(orderID: "o1"), correlation: "o1"), as: ShipmentCancelled.self)
            let again = try await harness.send(ScheduleShipment(orderID: "o1", shipTo: address, priority: false, free: false), correlation: "o1")
            #expect(try await rejection(harness, again).reason.contains("cancelled"))
            #expect(harness.deadLetters.isEmpty)
        }
    }
}
