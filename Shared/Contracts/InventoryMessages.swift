import Messaging

/// Where one order's reservation of one SKU is.
public enum ReservationStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case reserved
    case released
    case committed
}

/// Command to `inventory.commands`: reserve every line of an order, or none.
public struct ReserveStock: MessageContract, Hashable {
    public static let messageType = "inventory.reserve-stock.v1"
    public var orderID: String
    public var lines: [OrderLine]

    public init(orderID: String, lines: [OrderLine]) {
        self.orderID = orderID
        self.lines = lines
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", lines }
}

/// Reply and event: the whole order is reserved.
public struct StockReserved: MessageContract, Hashable {
    public static let messageType = "inventory.stock-reserved.v1"
    public var orderID: String

    public init(orderID: String) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId" }
}

/// Reply and event: nothing was reserved because these SKUs are short.
public struct StockReservationFailed: MessageContract, Hashable {
    public static let messageType = "inventory.stock-reservation-failed.v1"
    public var orderID: String
    public var shortSKUs: [String]
    /// Why, when it is not a shortage (an invalid line in a choreographed order).
    public var reason: String?

    public init(orderID: String, shortSKUs: [String], reason: String? = nil) {
        self.orderID = orderID
        self.shortSKUs = shortSKUs
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", shortSKUs = "shortSkus", reason }
}

/// Command (compensation): give back what was reserved for an order.
public struct ReleaseStock: MessageContract, Hashable {
    public static let messageType = "inventory.release-stock.v1"
    public var orderID: String

    public init(orderID: String) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId" }
}

/// Reply and event: the order's reservation was released (or there was none).
public struct StockReleased: MessageContract, Hashable {
    public static let messageType = "inventory.stock-released.v1"
    public var orderID: String
    /// The lines that were given back; empty when nothing was reserved.
    public var lines: [StockQuantity]

    public init(orderID: String, lines: [StockQuantity]) {
        self.orderID = orderID
        self.lines = lines
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", lines }
}

/// Command: the order completed; take the reserved stock out for good.
public struct CommitStock: MessageContract, Hashable {
    public static let messageType = "inventory.commit-stock.v1"
    public var orderID: String

    public init(orderID: String) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId" }
}

/// Reply and event: the reserved stock left the warehouse.
public struct StockCommitted: MessageContract, Hashable {
    public static let messageType = "inventory.stock-committed.v1"
    public var orderID: String
    public var lines: [StockQuantity]

    public init(orderID: String, lines: [StockQuantity]) {
        self.orderID = orderID
        self.lines = lines
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", lines }
}

/// Event: a SKU's stock was set through the API.
public struct StockLevelSet: MessageContract, Hashable {
    public static let messageType = "inventory.stock-level-set.v1"
    public var sku: String
    public var onHand: Int

    public init(sku: String, onHand: Int) {
        self.sku = sku
        self.onHand = onHand
    }
}

/// A quantity of one SKU.
public struct StockQuantity: Sendable, Hashable, Codable {
    public var sku: String
    public var quantity: Int

    public init(sku: String, quantity: Int) {
        self.sku = sku
        self.quantity = quantity
    }
}
