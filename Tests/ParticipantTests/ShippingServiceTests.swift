import Contracts
import Foundation
import Messaging
import ShippingCore
import Testing

@Suite("Shipping service")
struct ShippingServiceTests {
    private let address = Address(name: "Bob", line1: "2 Oak Ave", city: "Springfield", postalCode: "12345", country: "US")

    @Test("priority and free shipping pick the carrier and the fee", arguments: [
        (false, false, "GroundPost", "5.99"),
        (true, false, "SwiftExpress", "14.99"),
        (true, true, "SwiftExpress", "0.00"),
    ])
    func schedule(priority: Bool, free: Bool, carrier: String, fee: String) async throws {
        let harness = try await Harness.make(ShippingService())
        try await harness.running { harness in
            let command = try await harness.send(ScheduleShipment(orderID: "o1", shipTo: address, priority: priority, free: free), correlation: "o1")
            let scheduled = try await harness.reply(to: command, as: ShipmentScheduled.self)
            #expect(scheduled.carrier == carrier)
            #expect(scheduled.fee == Money(fee)!)
            #expect(scheduled.priority == priority)
            #expect(scheduled.trackingNumber.hasPrefix("EN"))
            #expect(scheduled.labelReference == "LBL-o1")
        }
    }

    @Test("scheduling again keeps the shipment; cancelling is idempotent")
    func idempotent() async throws {
        let harness = try await Harness.make(ShippingService())
        try await harness.running { harness in
            let first = try await harness.send(ScheduleShipment(orderID: "o1", shipTo: address), correlation: "o1")
            let a = try await harness.reply(to: first, as: ShipmentScheduled.self)
            let second = try await harness.send(ScheduleShipment(orderID: "o1", shipTo: address), correlation: "o1")
            #expect(try await harness.reply(to: second, as: ShipmentScheduled.self).trackingNumber == a.trackingNumber)
            for _ in 0..<2 {
                let cancel = try await harness.send(CancelShipment(orderID: "o1"), correlation: "o1")
                _ = try await harness.reply(to: cancel, as: ShipmentCancelled.self)
            }
        }
    }

    @Test("the premium perk needs a premium customer and a total over 100")
    func perk() {
        #expect(ShippingRules.premiumPerk(tier: .premium, total: Money("100.01")!))
        #expect(!ShippingRules.premiumPerk(tier: .premium, total: 100))
        #expect(!ShippingRules.premiumPerk(tier: .standard, total: 500))
    }
}
