import Messaging

/// Event (`orders.events`): every step of the order's saga succeeded.
public struct OrderCompleted: MessageContract, Hashable {
    public static let messageType = "orders.order-completed.v1"
    public var orderID: String
    public var customerID: String
    public var total: Money

    public init(orderID: String, customerID: String, total: Money) {
        self.orderID = orderID
        self.customerID = customerID
        self.total = total
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", customerID = "customerId", total }
}

/// Event (`orders.events`): the order did not go through; `status` is `compensated`
/// (what was done was undone) or `failed`.
public struct OrderFailed: MessageContract, Hashable {
    public static let messageType = "orders.order-failed.v1"
    public var orderID: String
    public var customerID: String
    public var status: String
    public var reason: String

    public init(orderID: String, customerID: String, status: String, reason: String) {
        self.orderID = orderID
        self.customerID = customerID
        self.status = status
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", customerID = "customerId", status, reason }
}
