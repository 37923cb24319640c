import Messaging

/// Command to `profile.commands`: may this customer order?
public struct VerifyCustomer: MessageContract, Hashable {
    public static let messageType = "profile.verify-customer.v1"
    public var customerID: String

    public init(customerID: String) {
        self.customerID = customerID
    }

    enum CodingKeys: String, CodingKey { case customerID = "customerId" }
}

/// Reply: the customer may order, at this tier.
public struct CustomerVerified: MessageContract, Hashable {
    public static let messageType = "profile.customer-verified.v1"
    public var customerID: String
    public var tier: CustomerTier

    public init(customerID: String, tier: CustomerTier) {
        self.customerID = customerID
        self.tier = tier
    }

    enum CodingKeys: String, CodingKey { case customerID = "customerId", tier }
}

/// Reply: the customer is unknown or blocked.
public struct CustomerRejected: MessageContract, Hashable {
    public static let messageType = "profile.customer-rejected.v1"
    public enum Reason: String, Sendable, Hashable, Codable {
        case unknown
        case blocked
    }

    public var customerID: String
    public var reason: Reason

    public init(customerID: String, reason: Reason) {
        self.customerID = customerID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case customerID = "customerId", reason }
}
