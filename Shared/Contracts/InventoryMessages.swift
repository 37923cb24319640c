import Messaging

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

    public init(orderID: String, shortSKUs: [String]) {
        self.orderID = orderID
        self.shortSKUs = shortSKUs
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", shortSKUs = "shortSkus" }
}
