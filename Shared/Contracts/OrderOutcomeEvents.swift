import Messaging

/// Event (`orders.events`): every step of the order's saga succeeded.
public struct OrderCompleted: MessageContract, Hashable {
    public static let messageType = "orders.order-completed.v1"
    public var orderID: String
    public var customerID: String
    public var total: Money
    /// A `ConsistencyToken` (stage `finished`): read models that applied this event answer `?after=` with it.
    public var consistencyToken: String?

    public init(orderID: String, customerID: String, total: Money, consistencyToken: String? = nil) {
        self.orderID = orderID
        self.customerID = customerID
        self.total = total
        self.consistencyToken = consistencyToken
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", customerID = "customerId", total, consistencyToken }
}

/// Event (`orders.events`): the order did not go through; `status` is `compensated`
/// (what was done was undone) or `failed`.
public struct OrderFailed: MessageContract, Hashable {
    public static let messageType = "orders.order-failed.v1"
    public var orderID: String
    public var customerID: String
    public var status: String
    public var reason: String
    public var consistencyToken: String?

    public init(orderID: String, customerID: String, status: String, reason: String, consistencyToken: String? = nil) {
        self.orderID = orderID
        self.customerID = customerID
        self.status = status
        self.reason = reason
        self.consistencyToken = consistencyToken
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", customerID = "customerId", status, reason, consistencyToken }
}

/// Event (`orders.events`): the order's saga stopped where software cannot decide: a
/// compensation or a step after the point of no return was refused. `unfinished` says what
/// is left to do; `ensemble order retry` (or `POST /orders/{id}/retry`) drives it again.
public struct OrderNeedsAttention: MessageContract, Hashable {
    public static let messageType = "orders.order-needs-attention.v1"
    public var orderID: String
    public var customerID: String
    public var reason: String
    public var unfinished: [String]
    public var consistencyToken: String?

    public init(orderID: String, customerID: String, reason: String, unfinished: [String], consistencyToken: String? = nil) {
        self.orderID = orderID
        self.customerID = customerID
        self.reason = reason
        self.unfinished = unfinished
        self.consistencyToken = consistencyToken
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", customerID = "customerId", reason, unfinished, consistencyToken }
}

/// Event (`orders.events`): a step that must go forward (or a compensation) has not
/// succeeded for longer than the saga definition's `stuckAfterSeconds`; it is still being
/// retried. An alert, not an outcome.
public struct OrderStuck: MessageContract, Hashable {
    public static let messageType = "orders.order-stuck.v1"
    public var orderID: String
    public var customerID: String
    public var step: String
    public var command: String
    public var attempts: Int
    public var since: String
    public var lastError: String

    public init(orderID: String, customerID: String, step: String, command: String, attempts: Int, since: String, lastError: String) {
        self.orderID = orderID
        self.customerID = customerID
        self.step = step
        self.command = command
        self.attempts = attempts
        self.since = since
        self.lastError = lastError
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", customerID = "customerId", step, command, attempts, since, lastError }
}
