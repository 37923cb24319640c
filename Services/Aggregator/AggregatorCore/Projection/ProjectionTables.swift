import SQLKit
import Storage

/// The aggregator's tables, by name. The live projection uses the `agg_` set; a rebuild
/// fills an `rb_` set from the start of the topics and swaps it in when it has caught up.
///
/// Facts are kept per order and per customer, each written idempotently (an event applied
/// twice changes nothing), and profiles are computed from the facts, so the result does not
/// depend on the order in which events of different topics arrive.
public struct ProjectionTables: Sendable, Hashable {
    let prefix: String

    public static let live = ProjectionTables(prefix: "agg_")
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
    public var dirty: String { prefix + "dirty" }
    /// Running totals per customer (`CustomerTotals`): orders by status, and money.
    var customerStatuses: String { prefix + "customer_statuses" }
    var customerTotals: String { prefix + "customer_totals" }

    var all: [String] {
        [positions, customers, orders, orderLines, payments, shipments, stock, levels, timeline, profiles, sources, dirty, customerStatuses, customerTotals]
    }

    /// The statements that create this set as migration 001 did (provenance columns:
    /// `<x>_prov`, JSON). Frozen: later columns and tables are in `totalsStatements`.
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

    /// The running totals (migration 002): the payment's counted customer, the two tables,
    /// and the indexes that make a profile's latest-status and latest-payment look-ups reads
    /// of one index entry.
    var totalsStatements: [String] {
        [
            "ALTER TABLE \(payments) ADD COLUMN counted_customer TEXT",
            "CREATE TABLE \(customerStatuses) (customer_id TEXT NOT NULL, status TEXT NOT NULL, orders BIGINT NOT NULL, PRIMARY KEY (customer_id, status))",
            """
            CREATE TABLE \(customerTotals) (
                customer_id TEXT PRIMARY KEY, authorized_minor BIGINT NOT NULL, captured_minor BIGINT NOT NULL,
                voided_minor BIGINT NOT NULL, refunded_minor BIGINT NOT NULL
            )
            """,
        ]
    }

    /// The totals of facts written before migration 002 (the same sums `CustomerTotals` keeps).
    var totalsBackfillStatements: [String] {
        [
            "UPDATE \(payments) SET counted_customer = (SELECT o.customer_id FROM \(orders) o WHERE o.order_id = \(payments).order_id)",
            """
            INSERT INTO \(customerStatuses) (customer_id, status, orders)
            SELECT customer_id, status, COUNT(*) FROM \(orders) WHERE customer_id IS NOT NULL GROUP BY customer_id, status
            """,
            """
            INSERT INTO \(customerTotals) (customer_id, authorized_minor, captured_minor, voided_minor, refunded_minor)
            SELECT o.customer_id, SUM(p.authorized_minor), SUM(p.captured_minor), SUM(p.voided_minor), SUM(p.refunded_minor)
            FROM \(payments) p JOIN \(orders) o ON o.order_id = p.order_id WHERE o.customer_id IS NOT NULL GROUP BY o.customer_id
            """,
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

    var totalsIndexStatements: [String] {
        [
            "CREATE INDEX \(orders)_customer_status ON \(orders) (customer_id, status_at)",
            "CREATE INDEX \(payments)_counted ON \(payments) (counted_customer, authorized_at)",
            // The latest billing name and phone: partial, so a customer who never gave one costs no scan.
            "CREATE INDEX \(payments)_billing_name ON \(payments) (counted_customer, authorized_at) WHERE billing_name IS NOT NULL AND prov IS NOT NULL",
            "CREATE INDEX \(payments)_billing_phone ON \(payments) (counted_customer, authorized_at) WHERE billing_phone IS NOT NULL AND prov IS NOT NULL",
        ]
    }

    var indexNames: [String] {
        ["\(orders)_customer", "\(orderLines)_sku", "\(timeline)_order", "\(orders)_customer_status", "\(payments)_counted",
         "\(payments)_billing_name", "\(payments)_billing_phone"]
    }

    func create(in sql: any SQLDatabase) async throws {
        for statement in createStatements + totalsStatements + indexStatements + totalsIndexStatements {
            try await sql.raw(SQLQueryString(statement)).run()
        }
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
        for statement in target.indexStatements + target.totalsIndexStatements { try await sql.raw(SQLQueryString(statement)).run() }
    }

    static let migrations = [
        Migration("aggregator-001-projections") { _ in ProjectionTables.live.createStatements + ProjectionTables.live.indexStatements },
        Migration("aggregator-002-customer-totals") { _ in
            ProjectionTables.live.totalsStatements + ProjectionTables.live.totalsBackfillStatements + ProjectionTables.live.totalsIndexStatements
        },
    ]
}
