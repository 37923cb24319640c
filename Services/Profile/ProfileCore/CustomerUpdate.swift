import Contracts

/// A partial change to a customer (`PUT /customers/{id}`): only the fields present change.
public struct CustomerUpdate: Sendable, Hashable, Codable {
    public var name: String?
    public var email: String?
    public var phone: String?
    public var shippingAddress: Address?
    public var billingAddress: Address?
    public var tier: CustomerTier?
    public var blocked: Bool?

    public init(name: String? = nil, email: String? = nil, phone: String? = nil, shippingAddress: Address? = nil,
                billingAddress: Address? = nil, tier: CustomerTier? = nil, blocked: Bool? = nil) {
        self.name = name
        self.email = email
        self.phone = phone
        self.shippingAddress = shippingAddress
        self.billingAddress = billingAddress
        self.tier = tier
        self.blocked = blocked
    }
}
