import Messaging

/// The state of one order's payment.
public enum PaymentStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case authorized, captured, voided, refunded, declined
}

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
    /// Sealed for the payment vault (on the wire as `cardNumber`, its name before sealing).
    public var card: PaymentCard
    public var processor: PaymentProcessor
    public var billingName: String?
    public var billingPhone: String?

    public init(orderID: String, customerID: String, amount: Money, card: PaymentCard, processor: PaymentProcessor = .primary, billingName: String? = nil, billingPhone: String? = nil) {
        self.orderID = orderID
        self.customerID = customerID
        self.amount = amount
        self.card = card
        self.processor = processor
        self.billingName = billingName
        self.billingPhone = billingPhone
    }

    enum CodingKeys: String, CodingKey {
        case orderID = "orderId", customerID = "customerId", amount, card = "cardNumber", processor, billingName, billingPhone
    }
}

/// Reply and event: the amount is held.
public struct PaymentAuthorized: MessageContract, Hashable {
    public static let messageType = "payment.authorized.v1"
    public var orderID: String
    public var authorizationID: String
    public var amount: Money
    public var processor: PaymentProcessor
    public var customerID: String?
    /// The card, masked: its brand and last four digits only (never the number).
    public var card: MaskedCard?
    public var billingName: String?
    public var billingPhone: String?

    public init(orderID: String, authorizationID: String, amount: Money, processor: PaymentProcessor, customerID: String? = nil,
                card: MaskedCard? = nil, billingName: String? = nil, billingPhone: String? = nil) {
        self.orderID = orderID
        self.authorizationID = authorizationID
        self.amount = amount
        self.processor = processor
        self.customerID = customerID
        self.card = card
        self.billingName = billingName
        self.billingPhone = billingPhone
    }

    enum CodingKeys: String, CodingKey {
        case orderID = "orderId", authorizationID = "authorizationId", amount, processor, customerID = "customerId", card, billingName, billingPhone
    }
}

/// A card as it may be shown and stored outside the payment service.
public struct MaskedCard: Sendable, Hashable, Codable {
    public var brand: String
    public var last4: String

    public init(brand: String, last4: String) {
        self.brand = brand
        self.last4 = last4
    }

    /// The brand from the number's first digits, and its last four digits.
    public init(number: String) {
        let digits = number.filter(\.isNumber)
        brand = switch digits.first {
        case "4": "visa"
        case "5", "2": "mastercard"
        case "3": "amex"
        case "6": "discover"
        default: "card"
        }
        last4 = String(digits.suffix(4))
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

/// Reply and event: the processor could not be reached or failed (technical, retriable,
/// or a reason to fall back to the other processor).
public struct PaymentFailed: MessageContract, Hashable {
    public static let messageType = "payment.failed.v1"
    public var orderID: String
    public var processor: PaymentProcessor
    public var reason: String

    public init(orderID: String, processor: PaymentProcessor, reason: String) {
        self.orderID = orderID
        self.processor = processor
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", processor, reason }
}

/// Command: take the authorized amount.
public struct CapturePayment: MessageContract, Hashable {
    public static let messageType = "payment.capture.v1"
    public var orderID: String

    public init(orderID: String) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId" }
}

/// Reply and event: the money was taken.
public struct PaymentCaptured: MessageContract, Hashable {
    public static let messageType = "payment.captured.v1"
    public var orderID: String
    public var amount: Money

    public init(orderID: String, amount: Money) {
        self.orderID = orderID
        self.amount = amount
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", amount }
}

/// Command (compensation): release an authorization that will not be captured.
public struct VoidPayment: MessageContract, Hashable {
    public static let messageType = "payment.void.v1"
    public var orderID: String

    public init(orderID: String) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId" }
}

/// Reply and event: the authorization was released (or there was none to release).
public struct PaymentVoided: MessageContract, Hashable {
    public static let messageType = "payment.voided.v1"
    public var orderID: String
    public var amount: Money

    public init(orderID: String, amount: Money) {
        self.orderID = orderID
        self.amount = amount
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", amount }
}

/// Command (compensation): give back captured money.
public struct RefundPayment: MessageContract, Hashable {
    public static let messageType = "payment.refund.v1"
    public var orderID: String

    public init(orderID: String) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId" }
}

/// Command (compensation): undo the payment in whatever state it is: an authorization is
/// voided (reply `payment.voided.v1`), a capture is refunded (reply `payment.refunded.v1`),
/// nothing to undo replies `payment.voided.v1` with a zero amount.
public struct ReversePayment: MessageContract, Hashable {
    public static let messageType = "payment.reverse.v1"
    public var orderID: String

    public init(orderID: String) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId" }
}

/// Reply and event: the captured money went back (or there was nothing to refund).
public struct PaymentRefunded: MessageContract, Hashable {
    public static let messageType = "payment.refunded.v1"
    public var orderID: String
    public var amount: Money

    public init(orderID: String, amount: Money) {
        self.orderID = orderID
        self.amount = amount
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", amount }
}
