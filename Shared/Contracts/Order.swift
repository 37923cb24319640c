/// One line of an order.
public struct OrderLine: Sendable, Hashable, Codable {
    public var sku: String
    public var quantity: Int
    public var unitPrice: Money

    public init(sku: String, quantity: Int, unitPrice: Money) {
        self.sku = sku
        self.quantity = quantity
        self.unitPrice = unitPrice
    }

    public var total: Money { unitPrice * quantity }
}

/// A postal address.
public struct Address: Sendable, Hashable, Codable {
    public var name: String
    public var line1: String
    public var line2: String?
    public var city: String
    public var postalCode: String
    public var country: String

    public init(name: String, line1: String, line2: String? = nil, city: String, postalCode: String, country: String) {
        self.name = name
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.postalCode = postalCode
        self.country = country
    }
}

/// A customer's service level; premium customers get free priority shipping over 100.
public enum CustomerTier: String, Sendable, Hashable, Codable, CaseIterable {
    case standard
    case premium
}

extension Sequence where Element == OrderLine {
    public var total: Money { reduce(.zero) { $0 + $1.total } }
}
