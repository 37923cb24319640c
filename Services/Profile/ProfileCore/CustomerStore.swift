import Contracts
import SQLKit
import Storage

/// The `customers` table.
enum CustomerStore {
    static let migration = Migration("profile-001-customers") { _ in
        ["""
        CREATE TABLE customers (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT NOT NULL,
            phone TEXT,
            shipping_address TEXT,
            billing_address TEXT,
            tier TEXT NOT NULL,
            blocked INTEGER NOT NULL,
            version INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        )
        """]
    }

    static func find(_ id: String, in sql: any SQLDatabase) async throws -> Customer? {
        try await sql.raw("SELECT * FROM customers WHERE id = \(bind: id)").first().map(customer)
    }

    static func all(in sql: any SQLDatabase) async throws -> [Customer] {
        try await sql.raw("SELECT * FROM customers ORDER BY id").all().map(customer)
    }

    static func insert(_ customer: Customer, in sql: any SQLDatabase) async throws {
        try await sql.raw("""
        INSERT INTO customers (id, name, email, phone, shipping_address, billing_address, tier, blocked, version, updated_at)
        VALUES (\(bind: customer.id), \(bind: customer.name), \(bind: customer.email), \(bind: customer.phone),
                \(bind: try StorageJSON.encodeIfPresent(customer.shippingAddress)), \(bind: try StorageJSON.encodeIfPresent(customer.billingAddress)),
                \(bind: customer.tier.rawValue), \(bind: customer.blocked ? 1 : 0), \(bind: customer.version), \(bind: StorageClock.now()))
        """).run()
    }

    static func update(_ customer: Customer, in sql: any SQLDatabase) async throws {
        try await sql.raw("""
        UPDATE customers SET name = \(bind: customer.name), email = \(bind: customer.email), phone = \(bind: customer.phone),
            shipping_address = \(bind: try StorageJSON.encodeIfPresent(customer.shippingAddress)),
            billing_address = \(bind: try StorageJSON.encodeIfPresent(customer.billingAddress)),
            tier = \(bind: customer.tier.rawValue), blocked = \(bind: customer.blocked ? 1 : 0),
            version = \(bind: customer.version), updated_at = \(bind: StorageClock.now())
        WHERE id = \(bind: customer.id)
        """).run()
    }

    static func count(in sql: any SQLDatabase) async throws -> Int {
        try await sql.raw("SELECT COUNT(*) AS n FROM customers").first()?.decode(column: "n", as: Int.self) ?? 0
    }

    private static func customer(_ row: any SQLRow) throws -> Customer {
        let tierText = try row.decode(column: "tier", as: String.self)
        guard let tier = CustomerTier(rawValue: tierText) else {
            throw StorageError(code: .corruptRow, message: "customer tier '\(tierText)' is unknown")
        }
        return Customer(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            email: try row.decode(column: "email", as: String.self),
            phone: try row.decode(column: "phone", as: String?.self),
            shippingAddress: try row.decodeJSONIfPresent(column: "shipping_address", as: Address.self),
            billingAddress: try row.decodeJSONIfPresent(column: "billing_address", as: Address.self),
            tier: tier,
            blocked: try row.decode(column: "blocked", as: Int.self) != 0,
            version: try row.decode(column: "version", as: Int.self)
        )
    }
}
