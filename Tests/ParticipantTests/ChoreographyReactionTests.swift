import Contracts
import Foundation
import InventoryCore
import Messaging
import PaymentCore
import ProfileCore
import ServiceKit
import ShippingCore
import Storage
import Testing

@Suite("Participants in the choreographed checkout")
struct ChoreographyReactionTests {
    static let all: [any Participant] = [ProfileService(), InventoryService(), PaymentService(), ShippingService()]

    static func order(_ id: String, customer: String = "bob", sku: String = "SKU-COFFEE", quantity: Int = 2) -> ChoreographedOrder {
        ChoreographedOrder(
            orderID: id, customerID: customer, lines: [OrderLine(sku: sku, quantity: quantity, unitPrice: Money("12.50")!)],
            shipTo: Address(name: "Bob", line1: "2 Oak Ave", city: "Springfield", postalCode: "12345", country: "US"), card: .number("4111111111111111")
        )
    }

    @Test("each participant registers exactly the reactions it declares, and consumes the topics of their sources", arguments: Self.all.map { $0.name.rawValue })
    func registeredAsDeclared(name: String) async throws {
        let participant = try #require(Self.all.first { $0.name.rawValue == name })
        let harness = try await Harness.make(participant)
        var router = MessageRouter()
        participant.reactions(harness.context, router: &router)
        #expect(router.messageTypes == Set(ChoreographyCatalog.reactions(of: participant.name).map { $0.on.messageType }))
        // One consumer group reads the commands and the events of the reactions' sources.
        #expect(harness.consumers.count == 1)
        let consumer = harness.consumer
        #expect(consumer.subscription.groupID == harness.topics.group("ensemble-\(name)"))
        #expect(Set(consumer.subscription.topics) == Set([harness.topics.commands(participant.name)] + ChoreographyCatalog.sources(of: participant.name).map(harness.topics.choreographyEvents)))
    }

    /// Publishes an event to its source's choreography topic (with `flow: nil`, an
    /// orchestrated order's event that strayed there).
    @discardableResult
    static func publish(_ event: some Event, order: String, on harness: Harness, flow: String? = ChoreographyCatalog.flow) async throws -> Envelope {
        let type = Swift.type(of: event)
        let envelope = try Envelope(event, correlationID: order, flow: flow)
        try await harness.bus.publish(envelope, to: harness.topics.choreographyEvents(type.source))
        return envelope
    }

    /// The service's published events about orders (not its seed data), once there are `count`.
    static func orderEvents(_ harness: Harness, count: Int) async throws -> [Envelope] {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let found = harness.bus.envelopes(in: harness.choreographyEventsTopic).filter { $0.messageType != StockLevelSet.messageType }
            if found.count >= count { return found }
            guard ContinuousClock.now < deadline else { throw HarnessTimeout(what: "\(count) events, got \(found.map(\.messageType))") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until the service's inbox holds `envelope`: its reaction ran and committed.
    static func handled(_ envelope: Envelope, by harness: Harness) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await harness.database.read({ try await Inbox.replies(for: envelope.messageID, in: $0) }) == nil {
            guard ContinuousClock.now < deadline else { throw HarnessTimeout(what: "\(envelope.messageType) to be handled") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test("inventory: a payment declined before the customer was verified withdraws the order; the late verification reserves nothing")
    func inventoryWithdraws() async throws {
        let harness = try await Harness.make(InventoryService())
        try await harness.running { harness in
            try await Self.publish(PaymentDeclined(orderID: "o-1", reason: "declined"), order: "o-1", on: harness)
            _ = try await Self.orderEvents(harness, count: 1)
            let late = try await Self.publish(CustomerVerified(customerID: "bob", tier: .standard, order: Self.order("o-1")), order: "o-1", on: harness)
            try await Self.handled(late, by: harness)
            // An orchestrated order's event (no flow) is not a reaction's business.
            try await Self.publish(CustomerVerified(customerID: "bob", tier: .standard, order: Self.order("o-2")), order: "o-2", on: harness, flow: nil)
            try await Self.publish(CustomerVerified(customerID: "bob", tier: .standard, order: Self.order("o-3")), order: "o-3", on: harness)
            let envelopes = try await Self.orderEvents(harness, count: 2)
            #expect(envelopes.map(\.messageType).sorted() == [StockReleased.messageType, StockReserved.messageType])
            let released = try #require(envelopes.first { $0.messageType == StockReleased.messageType })
            #expect(try released.decode(StockReleased.self).lines.isEmpty, "nothing was reserved, and inventory says so")
            #expect(released.flow == ChoreographyCatalog.flow, "the flow travels with every reaction")
            #expect(try await StockLevelOf.reserved("SKU-COFFEE", harness) == 2, "only o-3 holds stock")
        }
    }

    @Test("payment: a shortage before the authorization was asked voids nothing and authorizes nothing later")
    func paymentWithdraws() async throws {
        let harness = try await Harness.make(PaymentService())
        try await harness.running { harness in
            try await Self.publish(StockReservationFailed(orderID: "o-1", shortSKUs: ["SKU-RARE"]), order: "o-1", on: harness)
            let voided = await harness.bus.waitForRecords(in: harness.choreographyEventsTopic, count: 1)
            #expect(try Envelope(record: try #require(voided.first)).decode(PaymentVoided.self).amount == .zero)
            try await Self.publish(CustomerVerified(customerID: "bob", tier: .standard, order: Self.order("o-1")), order: "o-1", on: harness)
            try await Self.publish(CustomerVerified(customerID: "bob", tier: .standard, order: Self.order("o-2")), order: "o-2", on: harness)
            let events = await harness.bus.waitForRecords(in: harness.choreographyEventsTopic, count: 2)
            #expect(try events.map { try Envelope(record: $0).messageType } == [PaymentVoided.messageType, PaymentAuthorized.messageType])
            let o1 = try await harness.database.read { try await $0.raw("SELECT COUNT(*) AS n FROM payments WHERE order_id = 'o-1'").first()?.decode(column: "n", as: Int.self) }
            #expect(o1 == 0)
        }
    }

    @Test("shipping: schedules once all three events are in, in any order, with the premium rule; a failure closes the join for good")
    func shippingJoins() async throws {
        let harness = try await Harness.make(ShippingService())
        try await harness.running { harness in
            let big = Self.order("o-1", quantity: 10)
            try await Self.publish(PaymentAuthorized(orderID: "o-1", authorizationID: "a", amount: big.total, processor: .primary), order: "o-1", on: harness)
            try await Self.publish(StockReserved(orderID: "o-1"), order: "o-1", on: harness)
            try await Self.publish(CustomerVerified(customerID: "bob", tier: .premium, order: big), order: "o-1", on: harness)
            // o-2: stock short first; its authorization and verification arrive later.
            try await Self.publish(StockReservationFailed(orderID: "o-2", shortSKUs: ["SKU-RARE"]), order: "o-2", on: harness)
            try await Self.publish(PaymentAuthorized(orderID: "o-2", authorizationID: "b", amount: 25, processor: .primary), order: "o-2", on: harness)
            try await Self.publish(CustomerVerified(customerID: "bob", tier: .premium, order: Self.order("o-2")), order: "o-2", on: harness)
            try await Self.publish(StockReserved(orderID: "o-3"), order: "o-3", on: harness)
            try await Self.publish(PaymentAuthorized(orderID: "o-3", authorizationID: "c", amount: 25, processor: .primary), order: "o-3", on: harness)
            try await Self.publish(CustomerVerified(customerID: "bob", tier: .premium, order: Self.order("o-3")), order: "o-3", on: harness)

            let events = try await harness.bus.waitForRecords(in: harness.choreographyEventsTopic, count: 2).map { try Envelope(record: $0).decode(ShipmentScheduled.self) }
            let byOrder = Dictionary(uniqueKeysWithValues: events.map { ($0.orderID, $0) })
            #expect(byOrder["o-1"]?.priority == true && byOrder["o-1"]?.fee == .zero, "premium over 100: free priority")
            #expect(byOrder["o-3"]?.priority == false && byOrder["o-3"]?.fee == ShippingRules.standardFee, "premium under 100: standard")
            #expect(byOrder["o-2"] == nil)
            let state = try await harness.database.read { try await $0.raw("SELECT state FROM checkout_joins WHERE order_id = 'o-2'").first()?.decode(column: "state", as: String.self) }
            #expect(state == "closed")
        }
    }

    @Test("shipping: a join still waiting at its deadline is refused, once, and never scheduled afterwards")
    func shippingDeadline() async throws {
        let service = ShippingService(checkoutDeadline: .milliseconds(300))
        let harness = try await Harness.make(service)
        let deadlines = try #require(service.background(harness.context).first)
        try await harness.running { harness in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await deadlines.run() }
                try await Self.publish(StockReserved(orderID: "o-1"), order: "o-1", on: harness)
                let refused = await harness.bus.waitForRecords(in: harness.choreographyEventsTopic, count: 1, timeout: .seconds(20))
                let event = try Envelope(record: try #require(refused.first)).decode(ShipmentRefused.self)
                #expect(event.waitingFor == ["customer-verified", "payment-authorized"])
                let authorized = try await Self.publish(PaymentAuthorized(orderID: "o-1", authorizationID: "a", amount: 25, processor: .primary), order: "o-1", on: harness)
                let verified = try await Self.publish(CustomerVerified(customerID: "bob", tier: .standard, order: Self.order("o-1")), order: "o-1", on: harness)
                try await Self.handled(authorized, by: harness)
                try await Self.handled(verified, by: harness)
                #expect(harness.bus.records(in: harness.choreographyEventsTopic).count == 1, "the refusal only: no shipment after it")
                #expect(try await harness.database.read { try await $0.raw("SELECT COUNT(*) AS n FROM shipments").first()?.decode(column: "n", as: Int.self) } == 0)
                group.cancelAll()
            }
        }
    }
}

enum StockLevelOf {
    static func reserved(_ sku: String, _ harness: Harness) async throws -> Int? {
        try await harness.database.read { try await $0.raw("SELECT reserved FROM stock WHERE sku = \(bind: sku)").first()?.decode(column: "reserved", as: Int.self) }
    }
}
