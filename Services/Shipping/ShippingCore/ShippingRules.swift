import Contracts
import Foundation
import Messaging

/// Carriers and fees. The orchestrator decides `priority` and `free` (premium customers
/// over 100); in the choreographed flow the shipping service decides them itself.
public enum ShippingRules {
    public static let standardFee: Money = Money("5.99")!
    public static let priorityFee: Money = Money("14.99")!
    public static let freeShippingThreshold: Money = 100

    public static func carrier(priority: Bool) -> String { priority ? "SwiftExpress" : "GroundPost" }

    public static func fee(priority: Bool, free: Bool) -> Money {
        free ? .zero : (priority ? priorityFee : standardFee)
    }

    /// Premium customers with an order over 100 ship free, with priority.
    public static func premiumPerk(tier: CustomerTier, total: Money) -> Bool {
        tier == .premium && total > freeShippingThreshold
    }

    /// A tracking number such as `EN4F2A9C1B7D3E`.
    public static func trackingNumber() -> String {
        "EN" + UUID.random().uuidString.replacingOccurrences(of: "-", with: "").prefix(12)
    }

    public static func labelReference(orderID: String) -> String { "LBL-\(orderID)" }
}
