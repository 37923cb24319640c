import Messaging

/// Which simulated processor authorizes a payment.
public enum PaymentProcessor: String, Sendable, Hashable, Codable, CaseIterable {
    case primary
    case backup
}

/// Command to `payment.commands`: hold `amount` on the customer's card.
public struct AuthorizePayment: MessageContract, Hashable {
    public static let messageType = "payment.authorize.v1"
    public var orderID: String
    public var customerID: String
    public var amount: Money
    public var cardNumber: String
    public var processor: PaymentProcessor

    public init(orderID: String, customerID: String, amount: Money, cardNumber: String, processor: PaymentProcessor = .primary) {
        self.orderID = orderID
        self.customerID = customerID
        self.amount = amount
        self.cardNumber = cardNumber
        self.processor = processor
    }

    enum CodingKeys: String, CodingKey {
        case orderID = "orderId", customerID = "customerId", amount, cardNumber, processor
    }
}

/// Reply and event: the amount is held.
public struct PaymentAuthorized: MessageContract, Hashable {
    public static let messageType = "payment.authorized.v1"
    public var orderID: String
    public var authorizationID: String
    public var amount: Money
    public var processor: PaymentProcessor

    public init(orderID: String, authorizationID: String, amount: Money, processor: PaymentProcessor) {
        self.orderID = orderID
        self.authorizationID = authorizationID
        self.amount = amount
        self.processor = processor
    }

    enum CodingKeys: String, CodingKey {
        case orderID = "orderId", authorizationID = "authorizationId", amount, processor
    }
}

/// Reply and event: a business refusal (not retriable), e.g. over the limit or a declined test card.
public struct PaymentDeclined: MessageContract, Hashable {
    public static let messageType = "payment.declined.v1"
    public var orderID: String
    public var reason: String

    public init(orderID: String, reason: String) {
        self.orderID = orderID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", reason }
}
