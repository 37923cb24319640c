import Messaging

/// Event: an order was accepted (topic `orders.events`). Starts the choreographed flow.
public struct OrderPlaced: MessageContract, Hashable {
    public static let messageType = "orders.order-placed.v1"
    public var orderID: String
    public var customerID: String
    public var lines: [OrderLine]
    public var shipTo: Address

    public init(orderID: String, customerID: String, lines: [OrderLine], shipTo: Address) {
        self.orderID = orderID
        self.customerID = customerID
        self.lines = lines
        self.shipTo = shipTo
    }

    enum CodingKeys: String, CodingKey {
        case orderID = "orderId", customerID = "customerId", lines, shipTo
    }
}
