import Contracts
import Foundation
import Hummingbird
import Messaging
import ServiceKit
import Storage

/// The profile service: customers and their verification for orders.
public struct ProfileService: Participant {
    public let name = ServiceName.profile
    public let defaultHTTPPort = 8085
    public var migrations: [Migration] { [CustomerStore.migration] }

    public init() {}

    public func commands(_ context: ParticipantContext, router: inout MessageRouter) {
        context.handle(VerifyCustomer.self, in: &router) { command, _, sql in
            ProfileRules.verify(customerID: command.customerID, customer: try await CustomerStore.find(command.customerID, in: sql))
        }
    }

    public func reactions(_ context: ParticipantContext, router: inout MessageRouter) {
        context.react(OrderPlaced.self, in: &router) { placed, _, sql in
            guard let order = placed.choreography else {
                throw MessageRejection("a choreographed order-placed event carries the order in 'choreography'")
            }
            let customer = try await CustomerStore.find(order.customerID, in: sql)
            return ProfileRules.verify(customerID: order.customerID, customer: customer, passingOn: order).published
        }
    }

    /// The demo customers every install starts with.
    public static let demoCustomers: [Customer] = [
        Customer(
            id: "alice", name: "Alice Example", email: "alice@example.com", phone: "+1 555 0100",
            shippingAddress: Address(name: "Alice Example", line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US"),
            billingAddress: Address(name: "Alice Example", line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US"),
            tier: .standard
        ),
        Customer(
            id: "bob", name: "Bob Example", email: "bob@example.com", phone: "+1 555 0101",
            shippingAddress: Address(name: "Bob Example", line1: "2 Oak Ave", city: "Springfield", postalCode: "12345", country: "US"),
            billingAddress: Address(name: "Bob Example", line1: "99 Market St", city: "Capital City", postalCode: "54321", country: "US"),
            tier: .premium
        ),
        Customer(
            id: "mallory", name: "Mallory Example", email: "mallory@example.com",
            shippingAddress: Address(name: "Mallory Example", line1: "13 Elm St", city: "Shelbyville", postalCode: "66666", country: "US"),
            tier: .standard, blocked: true
        ),
    ]

    /// Registers the demo customers in a new database, each with its `customer-registered`
    /// event, so read models (the aggregator) learn about them like about any other.
    public func seed(_ context: ParticipantContext) async throws {
        guard try await context.database.read({ try await CustomerStore.count(in: $0) }) == 0 else { return }
        for customer in Self.demoCustomers {
            let _: Bool = try await context.executor.change(correlationID: { _ in customer.id }) { sql in
                guard try await CustomerStore.find(customer.id, in: sql) == nil else { return (false, []) }
                try await CustomerStore.insert(customer, in: sql)
                return (true, [CustomerRegistered(customer: customer)])
            }
        }
    }

    public func routes(_ context: ParticipantContext, routes: ServiceRoutes) {
        let database = context.database
        let executor = context.executor
        routes.get("customers", scope: .profilesRead) { _, _ -> Response in
            try ServiceHTTPServer.jsonResponse(.ok, try await database.read { try await CustomerStore.all(in: $0) })
        }
        routes.get("customers/:id", scope: .profilesRead) { _, context -> Response in
            let id = try context.parameters.decoded("id")
            guard let customer = try await database.read({ try await CustomerStore.find(id, in: $0) }) else {
                throw APIError.notFound("customer '\(id)' does not exist")
            }
            return try ServiceHTTPServer.jsonResponse(.ok, customer)
        }
        routes.post("customers", scope: .profilesWrite) { request, context -> Response in
            var submitted = try await request.decodeJSON(Customer.self, context: context)
            submitted.version = 1
            let customer = submitted
            if let problem = ProfileRules.validate(customer) {
                throw APIError.badRequest(problem, code: "invalid-customer")
            }
            let created: Customer? = try await executor.change(correlationID: { (created: Customer?) in created?.id ?? customer.id }) { sql in
                guard try await CustomerStore.find(customer.id, in: sql) == nil else { return (nil, []) }
                try await CustomerStore.insert(customer, in: sql)
                return (customer, [CustomerRegistered(customer: customer)])
            }
            guard let created else { throw APIError(.conflict, code: "customer-exists", message: "customer '\(customer.id)' already exists") }
            return try ServiceHTTPServer.jsonResponse(.created, created)
        }
        routes.put("customers/:id", scope: .profilesWrite) { request, context -> Response in
            let id = try context.parameters.decoded("id")
            let update = try await request.decodeJSON(CustomerUpdate.self, context: context)
            let updated: Customer? = try await executor.change(correlationID: { _ in id }) { sql in
                guard let current = try await CustomerStore.find(id, in: sql) else { return (nil, []) }
                let (customer, changed) = ProfileRules.apply(update, to: current)
                if let problem = ProfileRules.validate(customer) {
                    throw APIError.badRequest(problem, code: "invalid-customer")
                }
                guard !changed.isEmpty else { return (customer, []) }
                try await CustomerStore.update(customer, in: sql)
                return (customer, [CustomerUpdated(customer: customer, changedFields: changed)])
            }
            guard let updated else { throw APIError.notFound("customer '\(id)' does not exist") }
            return try ServiceHTTPServer.jsonResponse(.ok, updated)
        }
    }
}
