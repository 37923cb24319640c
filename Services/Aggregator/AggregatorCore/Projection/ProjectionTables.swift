import SQLKit
import Storage

/// The aggregator's tables, by name. The live projection uses the `agg_` set; a rebuild
/// fills an `rb_` set from the start of the topics and swaps it in when it has caught up.
///
/// Facts are kept per order and per customer, each written idempotently (an event applied
/// twice changes nothing), and profiles are computed from the facts, so the result does not
/// depend on the order in which events of different topics arrive.
struct ProjectionTables: Sendable, Hashable {
    let prefix: String

    static let live = ProjectionTables(prefix: "agg_")
    static let rebuild = ProjectionTables(prefix: "rb_")

    var positions: String { prefix + "positions" }
    var customers: String { prefix + "customers" }
    var orders: String { prefix + "orders" }
    var orderLines: String { prefix + "order_lines" }
    var payments: String { prefix + "payments" }
    var shipments: String { prefix + "shipments" }
    var stock: String { prefix + "stock" }
    var levels: String { prefix + "levels" }
    var timeline: String { prefix + "timeline" }
    var profiles: String { prefix + "profiles" }
    var sources: String { prefix + "sources" }
    /// Customers whose profile must be recomputed (written with the facts, cleared by the refresher).
    var dirty: String { prefix + "dirty" }

    var all: [String] { [positions, customers, orders, orderLines, payments, shipments, stock, levels, timeline, profiles, sources, dirty] }

    /// The statements that create this set (provenance columns: `<x>_prov`, JSON).
    var createStatements: [String] {
        [
            "CREATE TABLE \(positions) (topic TEXT NOT NULL, part INTEGER NOT NULL, next_offset INTEGER NOT NULL, PRIMARY KEY (topic, part))",
            "CREATE TABLE \(customers) (customer_id TEXT PRIMARY KEY, version INTEGER NOT NULL, document TEXT NOT NULL, prov TEXT NOT NULL)",
            """
            CREATE TABLE \(orders) (
                order_id TEXT PRIMARY KEY, customer_id TEXT, total_minor INTEGER, mode TEXT, ship_to TEXT,
                placed_at TEXT, placed_prov TEXT, status TEXT NOT NULL, status_at TEXT, reason TEXT, finished_at TEXT, status_prov TEXT
            )
            """,
            "CREATE TABLE \(orderLines) (order_id TEXT NOT NULL, line INTEGER NOT NULL, sku TEXT NOT NULL, quantity INTEGER NOT NULL, unit_price_minor INTEGER NOT NULL, PRIMARY KEY (order_id, line))",
            """
            CREATE TABLE \(payments) (
                order_id TEXT PRIMARY KEY, customer_id TEXT, processor TEXT, card_brand TEXT, card_last4 TEXT,
                billing_name TEXT, billing_phone TEXT, authorized_minor INTEGER NOT NULL DEFAULT 0, captured_minor INTEGER NOT NULL DEFAULT 0,
                voided_minor INTEGER NOT NULL DEFAULT 0, refunded_minor INTEGER NOT NULL DEFAULT 0, declined INTEGER NOT NULL DEFAULT 0,
                authorized_at TEXT, prov TEXT
            )
            """,
            """
            CREATE TABLE \(shipments) (
                order_id TEXT PRIMARY KEY, carrier TEXT, tracking_number TEXT, priority INTEGER, fee_minor INTEGER,
                status TEXT NOT NULL, scheduled_at TEXT, prov TEXT
            )
            """,
            "CREATE TABLE \(stock) (order_id TEXT PRIMARY KEY, status TEXT NOT NULL, at TEXT NOT NULL)",
            "CREATE TABLE \(levels) (sku TEXT PRIMARY KEY, on_hand INTEGER NOT NULL, set_at TEXT NOT NULL)",
            """
            CREATE TABLE \(timeline) (
                message_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, at TEXT NOT NULL, source TEXT NOT NULL, type TEXT NOT NULL, detail TEXT
            )
            """,
            "CREATE TABLE \(profiles) (customer_id TEXT PRIMARY KEY, tier TEXT, document TEXT NOT NULL)",
            "CREATE TABLE \(sources) (source TEXT PRIMARY KEY, last_event_at TEXT NOT NULL, events INTEGER NOT NULL)",
            "CREATE TABLE \(dirty) (customer_id TEXT PRIMARY KEY)",
        ]
    }

    /// The indexes (kept apart: a renamed table keeps its indexes' names).
    var indexStatements: [String] {
        [
            "CREATE INDEX \(orders)_customer ON \(orders) (customer_id, placed_at)",
            "CREATE INDEX \(orderLines)_sku ON \(orderLines) (sku)",
            "CREATE INDEX \(timeline)_order ON \(timeline) (order_id, at)",
        ]
    }

    var indexNames: [String] { ["\(orders)_customer", "\(orderLines)_sku", "\(timeline)_order"] }

    func create(in sql: any SQLDatabase) async throws {
        for statement in createStatements + indexStatements { try await sql.raw(SQLQueryString(statement)).run() }
    }

    func drop(in sql: any SQLDatabase) async throws {
        for table in all { try await sql.raw(SQLQueryString("DROP TABLE IF EXISTS \(table)")).run() }
    }

    /// Renames every table of this set to the names of `target` (whose tables must be gone).
    func rename(to target: ProjectionTables, in sql: any SQLDatabase) async throws {
        for index in indexNames { try await sql.raw(SQLQueryString("DROP INDEX IF EXISTS \(index)")).run() }
        for (from, to) in zip(all, target.all) {
            try await sql.raw(SQLQueryString("ALTER TABLE \(from) RENAME TO \(to)")).run()
        }
        for statement in target.indexStatements { try await sql.raw(SQLQueryString(statement)).run() }
    }

    static let migration = Migration("aggregator-001-projections") { _ in ProjectionTables.live.createStatements + ProjectionTables.live.indexStatements }
}
