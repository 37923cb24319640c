import Contracts
import Foundation
import Storage

/// The profile service's decisions, free of storage so they can be tested alone.
public enum ProfileRules {
    /// May this customer order? Unknown and blocked customers may not. A choreographed
    /// `order` is passed on in `customer-verified` to the services that act next.
    public static func verify(customerID: String, customer: Customer?, passingOn order: ChoreographedOrder? = nil) -> CommandOutcome {
        guard let customer else {
            return .replyAndPublish(CustomerRejected(customerID: customerID, reason: .unknown))
        }
        if customer.blocked {
            return .replyAndPublish(CustomerRejected(customerID: customerID, reason: .blocked))
        }
        return .replyAndPublish(CustomerVerified(customerID: customerID, tier: customer.tier, order: order))
    }

    /// Checks a registration; returns the problem, naming the field, or nil.
    public static func validate(_ customer: Customer) -> String? {
        if !TextRule.isIdentifier(customer.id) { return "id must be 1-64 characters without spaces or '/'" }
        if !TextRule.hasContent(customer.name) { return "name must not be empty" }
        if !isEmail(customer.email) { return "email '\(customer.email)' is not an email address" }
        if let address = customer.shippingAddress, let problem = address.problem(field: "shippingAddress") { return problem }
        if let address = customer.billingAddress, let problem = address.problem(field: "billingAddress") { return problem }
        return nil
    }

    /// One `@` with something before it and a `.` after it, no spaces (the document's
    /// pattern `^[^@ ]+@[^@ ]*\.[^@ ]*$`).
    static func isEmail(_ text: String) -> Bool {
        let parts = text.unicodeScalars.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !text.unicodeScalars.contains(" ")
    }

    /// Applies `update` to `customer`; returns the new customer and the names of the fields that changed.
    public static func apply(_ update: CustomerUpdate, to customer: Customer) -> (Customer, [String]) {
        var updated = customer
        var changed: [String] = []
        func set<T: Equatable>(_ keyPath: WritableKeyPath<Customer, T>, _ value: T?, _ name: String) {
            if let value, updated[keyPath: keyPath] != value {
                updated[keyPath: keyPath] = value
                changed.append(name)
            }
        }
        set(\.name, update.name, "name")
        set(\.email, update.email, "email")
        set(\.phone, update.phone.map(Optional.some), "phone")
        set(\.shippingAddress, update.shippingAddress.map(Optional.some), "shippingAddress")
        set(\.billingAddress, update.billingAddress.map(Optional.some), "billingAddress")
        set(\.tier, update.tier, "tier")
        set(\.blocked, update.blocked, "blocked")
        if !changed.isEmpty { updated.version += 1 }
        return (updated, changed)
    }
}
