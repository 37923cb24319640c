import Contracts

/// Stock of one SKU.
public struct StockLevel: Sendable, Hashable, Codable {
    public var sku: String
    public var onHand: Int
    public var reserved: Int

    public init(sku: String, onHand: Int, reserved: Int = 0) {
        self.sku = sku
        self.onHand = onHand
        self.reserved = reserved
    }

    public var available: Int { onHand - reserved }

    enum CodingKeys: String, CodingKey { case sku, onHand, reserved, available }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sku = try container.decode(String.self, forKey: .sku)
        onHand = try container.decode(Int.self, forKey: .onHand)
        reserved = try container.decodeIfPresent(Int.self, forKey: .reserved) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sku, forKey: .sku)
        try container.encode(onHand, forKey: .onHand)
        try container.encode(reserved, forKey: .reserved)
        try container.encode(available, forKey: .available)
    }
}

/// The inventory service's decisions, free of storage.
public enum InventoryRules {
    /// The quantity per SKU an order asks for (lines for the same SKU add up), in SKU order.
    public static func demand(_ lines: [OrderLine]) -> [StockQuantity] {
        var totals: [String: Int] = [:]
        for line in lines { totals[line.sku, default: 0] += line.quantity }
        return totals.sorted { $0.key < $1.key }.map { StockQuantity(sku: $0.key, quantity: $0.value) }
    }

    /// All or nothing: the SKUs that cannot be reserved (unknown or not enough available),
    /// sorted; empty when the whole order fits.
    public static func shortSKUs(demand: [StockQuantity], stock: [String: StockLevel]) -> [String] {
        demand.filter { wanted in
            guard let level = stock[wanted.sku] else { return true }
            return level.available < wanted.quantity
        }.map(\.sku)
    }

    /// Why a reservation command is malformed, or nil.
    public static func problem(with lines: [OrderLine]) -> String? {
        if lines.isEmpty { return "the order has no lines" }
        if let line = lines.first(where: { $0.quantity <= 0 }) { return "quantity \(line.quantity) for \(line.sku) is not positive" }
        return nil
    }
}
