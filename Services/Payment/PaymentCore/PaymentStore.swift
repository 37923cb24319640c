import Contracts
import SQLKit
import Storage

/// The `payments`, `ledger` and `credit_limits` tables.
enum PaymentStore {
    static let migration = Migration("payment-001-payments") { dialect in
        let id = dialect == .postgresql ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
        return [
            """
            CREATE TABLE payments (
                order_id TEXT PRIMARY KEY,
                customer_id TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                status TEXT NOT NULL,
                processor TEXT,
                authorization_id TEXT,
                updated_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE ledger (
                id \(id),
                order_id TEXT NOT NULL,
                entry TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                processor TEXT,
                detail TEXT,
                at TEXT NOT NULL
            )
            """,
            "CREATE INDEX ledger_order ON ledger (order_id)",
            """
            CREATE TABLE credit_limits (
                customer_id TEXT PRIMARY KEY,
                limit_minor BIGINT NOT NULL
            )
            """,
        ]
    }

    struct Payment: Sendable, Hashable, Codable {
        var orderID: String
        var customerID: String
        var amount: Money
        var status: PaymentStatus
        var processor: PaymentProcessor?
        var authorizationID: String?

        enum CodingKeys: String, CodingKey {
            case orderID = "orderId", customerID = "customerId", amount, status, processor, authorizationID = "authorizationId"
        }
    }

    struct LedgerEntry: Sendable, Hashable, Codable {
        var entry: String
        var amount: Money
        var processor: String?
        var detail: String?
        var at: String
    }

    static func payment(order: String, in sql: any SQLDatabase) async throws -> Payment? {
        guard let row = try await sql.raw("SELECT * FROM payments WHERE order_id = \(bind: order)").first() else { return nil }
        let status = try row.decodeEnum(column: "status", as: PaymentStatus.self)
        return Payment(
            orderID: try row.decode(column: "order_id", as: String.self),
            customerID: try row.decode(column: "customer_id", as: String.self),
            amount: Money(minorUnits: try row.decode(column: "amount_minor", as: Int64.self)),
            status: status,
            processor: try row.decode(column: "processor", as: String?.self).flatMap(PaymentProcessor.init(rawValue:)),
            authorizationID: try row.decode(column: "authorization_id", as: String?.self)
        )
    }

    /// The orders a customer's payments belong to, newest first (at most `limit`).
    /// The orders of the newest `limit` payments: a customer's, or everyone's.
    static func orders(customer: String?, limit: Int, in sql: any SQLDatabase) async throws -> [String] {
        let query: SQLQueryString = if let customer {
            "SELECT order_id FROM payments WHERE customer_id = \(bind: customer) ORDER BY updated_at DESC, order_id LIMIT \(bind: limit)"
        } else {
            "SELECT order_id FROM payments ORDER BY updated_at DESC, order_id LIMIT \(bind: limit)"
        }
        return try await sql.raw(query).all().map { try $0.decode(column: "order_id", as: String.self) }
    }

    static func save(_ payment: Payment, in sql: any SQLDatabase) async throws {
        let now = StorageClock.now()
        try await sql.raw("""
        INSERT INTO payments (order_id, customer_id, amount_minor, status, processor, authorization_id, updated_at)
        VALUES (\(bind: payment.orderID), \(bind: payment.customerID), \(bind: payment.amount.minorUnits), \(bind: payment.status.rawValue),
                \(bind: payment.processor?.rawValue), \(bind: payment.authorizationID), \(bind: now))
        ON CONFLICT (order_id) DO UPDATE SET customer_id = \(bind: payment.customerID), amount_minor = \(bind: payment.amount.minorUnits),
            status = \(bind: payment.status.rawValue), processor = \(bind: payment.processor?.rawValue),
            authorization_id = \(bind: payment.authorizationID), updated_at = \(bind: now)
        """).run()
    }

    static func record(order: String, _ entry: String, amount: Money, processor: PaymentProcessor?, detail: String? = nil, in sql: any SQLDatabase) async throws {
        try await sql.raw("""
        INSERT INTO ledger (order_id, entry, amount_minor, processor, detail, at)
        VALUES (\(bind: order), \(bind: entry), \(bind: amount.minorUnits), \(bind: processor?.rawValue), \(bind: detail), \(bind: StorageClock.now()))
        """).run()
    }

    static func ledger(order: String, in sql: any SQLDatabase) async throws -> [LedgerEntry] {
        try await sql.raw("SELECT entry, amount_minor, processor, detail, at FROM ledger WHERE order_id = \(bind: order) ORDER BY id").all().map { row in
            LedgerEntry(
                entry: try row.decode(column: "entry", as: String.self),
                amount: Money(minorUnits: try row.decode(column: "amount_minor", as: Int64.self)),
                processor: try row.decode(column: "processor", as: String?.self),
                detail: try row.decode(column: "detail", as: String?.self),
                at: try row.decode(column: "at", as: String.self)
            )
        }
    }

    static func limit(customer: String, in sql: any SQLDatabase) async throws -> Money? {
        try await sql.raw("SELECT limit_minor FROM credit_limits WHERE customer_id = \(bind: customer)").first()
            .map { Money(minorUnits: try $0.decode(column: "limit_minor", as: Int64.self)) }
    }

    static func setLimit(customer: String, _ limit: Money, in sql: any SQLDatabase) async throws {
        try await sql.raw("""
        INSERT INTO credit_limits (customer_id, limit_minor) VALUES (\(bind: customer), \(bind: limit.minorUnits))
        ON CONFLICT (customer_id) DO UPDATE SET limit_minor = \(bind: limit.minorUnits)
        """).run()
    }

    static func limitCount(in sql: any SQLDatabase) async throws -> Int {
        try await sql.raw("SELECT COUNT(*) AS n FROM credit_limits").first()?.decode(column: "n", as: Int.self) ?? 0
    }
}
