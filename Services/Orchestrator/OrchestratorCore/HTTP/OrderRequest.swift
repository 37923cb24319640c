import Messaging
import Contracts
import Foundation

/// The body of `POST /orders`.
public struct OrderRequest: Sendable, Hashable, Codable {
    /// An order line: the same shape as the contracts' `OrderLine`.
    public typealias Item = OrderLine

    public struct Payment: Sendable, Hashable, Codable {
        public var card: String
        /// The name and phone on the card's billing record, when the client knows them.
        public var billingName: String?
        public var billingPhone: String?

        public init(card: String, billingName: String? = nil, billingPhone: String? = nil) {
            self.card = card
            self.billingName = billingName
            self.billingPhone = billingPhone
        }
    }

    public var customerID: String
    public var items: [Item]
    public var payment: Payment
    public var shipTo: Address
    /// How the checkout runs; the orchestrator's configured default (`ORDER_MODE`,
    /// `orchestration` unless set) when left out.
    public var mode: CheckoutMode?

    public init(customerID: String, items: [Item], payment: Payment, shipTo: Address, mode: CheckoutMode? = nil) {
        self.customerID = customerID
        self.items = items
        self.payment = payment
        self.shipTo = shipTo
        self.mode = mode
    }

    enum CodingKeys: String, CodingKey { case customerID = "customerId", items, payment, shipTo, mode }

    /// A new order id, such as `ord_019af3c2e4b17a9c1b7d`: the first 20 hex digits of a
    /// time-ordered UUID (48 bits of milliseconds, 28 random bits), so the orders of one
    /// moment sit together in every table keyed by order id.
    public static func newOrderID() -> String {
        "ord_" + UUID.timeOrdered().lowercasedText.replacingOccurrences(of: "-", with: "").prefix(20)
    }

    public static let maximumUnitPrice = Money(minorUnits: 9_999_999)

    public var lines: [OrderLine] { items }
    public var total: Money { lines.total }

    /// The first problem with the request, naming the field, or nil. The same rules as the
    /// OpenAPI document's `OrderRequest` schema (see `TextRule`).
    public var problem: String? {
        if !TextRule.hasContent(customerID) { return "customerId must not be empty" }
        if items.isEmpty { return "items must list at least one item" }
        if items.count > 100 { return "items may list at most 100 items" }
        for (index, item) in items.enumerated() {
            if !TextRule.hasContent(item.sku) { return "items[\(index)].sku must not be empty" }
            if !(1...1000).contains(item.quantity) { return "items[\(index)].quantity must be between 1 and 1000" }
            // At most 99999.99 a unit: with 1000 units and 100 lines an order stays far
            // inside what amounts can hold, and so do the sums the read models keep.
            if !(1...Self.maximumUnitPrice.minorUnits).contains(item.unitPrice.minorUnits) {
                return "items[\(index)].unitPrice must be positive and at most \(Self.maximumUnitPrice)"
            }
        }
        let digits = String(payment.card.unicodeScalars.filter { $0 != " " })
        if !(12...19).contains(TextRule.length(digits)) || !TextRule.isDigits(digits) { return "payment.card must be 12 to 19 digits" }
        if let problem = shipTo.problem(field: "shipTo") { return problem }
        if let name = payment.billingName, TextRule.length(name) > 200 { return "payment.billingName may have at most 200 characters" }
        if let phone = payment.billingPhone, TextRule.length(phone) > 40 { return "payment.billingPhone may have at most 40 characters" }
        return nil
    }

    /// The data a checkout saga starts with.
    public func sagaData(orderID: String) throws -> JSONValue {
        var data = JSONValue.object([:])
        data.set("order.id", to: .string(orderID))
        data.set("order.customerId", to: .string(customerID))
        data.set("order.items", to: try JSONValue(encoding: lines))
        data.set("order.total", to: .string(total.description))
        data.set("order.shipTo", to: try JSONValue(encoding: shipTo))
        // Sealed for the payment vault by the intake (`OrderIntake`).
        data.set("payment.card", to: .string(payment.card.filter { $0 != " " }))
        data.set("payment.processor", to: .string("primary"))
        if let name = payment.billingName { data.set("payment.billingName", to: .string(name)) }
        if let phone = payment.billingPhone { data.set("payment.billingPhone", to: .string(phone)) }
        return data
    }
}
