import Messaging

/// Event: an order was accepted (topic `orders.events`). Starts the choreographed flow.
public struct OrderPlaced: MessageContract, Hashable {
    public static let messageType = "orders.order-placed.v1"
    public var orderID: String
    public var customerID: String
    public var lines: [OrderLine]
    public var shipTo: Address
    /// `orchestration` or `choreography`: how the order's checkout runs.
    public var mode: String?
    /// For a choreographed order: what the participants need to act (see `ChoreographedOrder`).
    public var choreography: ChoreographedOrder?

    public init(orderID: String, customerID: String, lines: [OrderLine], shipTo: Address, mode: String? = "orchestration", choreography: ChoreographedOrder? = nil) {
        self.orderID = orderID
        self.customerID = customerID
        self.lines = lines
        self.shipTo = shipTo
        self.mode = mode
        self.choreography = choreography
    }

    enum CodingKeys: String, CodingKey {
        case orderID = "orderId", customerID = "customerId", lines, shipTo, mode, choreography
    }
}
