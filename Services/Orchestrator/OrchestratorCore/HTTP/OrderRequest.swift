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

    /// A new order id, such as `ord_4f2a9c1b7d3e5a6b8c9d`.
    public static func newOrderID() -> String {
        "ord_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased()
    }

    public var lines: [OrderLine] { items }
    public var total: Money { lines.total }

    /// The first problem with the request, naming the field, or nil.
    public var problem: String? {
        if customerID.trimmingCharacters(in: .whitespaces).isEmpty { return "customerId must not be empty" }
        if items.isEmpty { return "items must list at least one item" }
        if items.count > 100 { return "items may list at most 100 items" }
        for (index, item) in items.enumerated() {
            if item.sku.trimmingCharacters(in: .whitespaces).isEmpty { return "items[\(index)].sku must not be empty" }
            if !(1...1000).contains(item.quantity) { return "items[\(index)].quantity must be between 1 and 1000" }
            if item.unitPrice.minorUnits <= 0 { return "items[\(index)].unitPrice must be positive" }
        }
        let digits = payment.card.filter { $0 != " " }
        if !(12...19).contains(digits.count) || !digits.allSatisfy(\.isNumber) { return "payment.card must be 12 to 19 digits" }
        for (field, value) in [("shipTo.name", shipTo.name), ("shipTo.line1", shipTo.line1), ("shipTo.city", shipTo.city), ("shipTo.postalCode", shipTo.postalCode)]
        where value.trimmingCharacters(in: .whitespaces).isEmpty {
            return "\(field) must not be empty"
        }
        if let name = payment.billingName, name.count > 200 { return "payment.billingName may have at most 200 characters" }
        if let phone = payment.billingPhone, phone.count > 40 { return "payment.billingPhone may have at most 40 characters" }
        if shipTo.country.count != 2 || !shipTo.country.allSatisfy(\.isLetter) { return "shipTo.country must be a two-letter country code" }
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
