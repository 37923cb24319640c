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
    /// Set when verifying a choreographed order: the order, passed on to the next services.
    public var order: ChoreographedOrder?

    public init(customerID: String, tier: CustomerTier, order: ChoreographedOrder? = nil) {
        self.customerID = customerID
        self.tier = tier
        self.order = order
    }

    enum CodingKeys: String, CodingKey { case customerID = "customerId", tier, order }
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

/// A customer as the profile service owns it.
public struct Customer: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var email: String
    public var phone: String?
    public var shippingAddress: Address?
    public var billingAddress: Address?
    public var tier: CustomerTier
    public var blocked: Bool
    public var version: Int

    public init(id: String, name: String, email: String, phone: String? = nil, shippingAddress: Address? = nil,
                billingAddress: Address? = nil, tier: CustomerTier = .standard, blocked: Bool = false, version: Int = 1) {
        self.id = id
        self.name = name
        self.email = email
        self.phone = phone
        self.shippingAddress = shippingAddress
        self.billingAddress = billingAddress
        self.tier = tier
        self.blocked = blocked
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case id, name, email, phone, shippingAddress, billingAddress, tier, blocked, version
    }

    /// `tier`, `blocked` and `version` may be left out (standard, not blocked, 1).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decode(String.self, forKey: .id),
            name: try container.decode(String.self, forKey: .name),
            email: try container.decode(String.self, forKey: .email),
            phone: try container.decodeIfPresent(String.self, forKey: .phone),
            shippingAddress: try container.decodeIfPresent(Address.self, forKey: .shippingAddress),
            billingAddress: try container.decodeIfPresent(Address.self, forKey: .billingAddress),
            tier: try container.decodeIfPresent(CustomerTier.self, forKey: .tier) ?? .standard,
            blocked: try container.decodeIfPresent(Bool.self, forKey: .blocked) ?? false,
            version: try container.decodeIfPresent(Int.self, forKey: .version) ?? 1
        )
    }
}

/// Event: a customer was registered.
public struct CustomerRegistered: MessageContract, Hashable {
    public static let messageType = "profile.customer-registered.v1"
    public var customer: Customer

    public init(customer: Customer) {
        self.customer = customer
    }
}

/// Event: a customer's data changed; `customer` is the new state.
public struct CustomerUpdated: MessageContract, Hashable {
    public static let messageType = "profile.customer-updated.v1"
    public var customer: Customer
    /// The fields that changed, e.g. `["phone", "tier"]`.
    public var changedFields: [String]

    public init(customer: Customer, changedFields: [String]) {
        self.customer = customer
        self.changedFields = changedFields
    }
}
