import Contracts
import Foundation
import SQLKit
import Storage

/// The `choreographed_orders` table: the tracker's record of each choreographed order,
/// its progress and its timeline, written with the consumed event's inbox entry.
enum ChoreographyStore {
    static let migration = Migration("orchestrator-003-choreographed-orders") { _ in
        ["""
        CREATE TABLE choreographed_orders (
            order_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            total_minor BIGINT NOT NULL,
            status TEXT NOT NULL,
            progress TEXT NOT NULL,
            timeline TEXT NOT NULL,
            created_at TEXT NOT NULL,
            finished_at TEXT
        )
        """, "CREATE INDEX choreographed_orders_status ON choreographed_orders (status)"]
    }

    /// Each order's trace, kept for its view.
    static let traceMigration = Migration("orchestrator-005-choreographed-order-traces") { _ in
        ["ALTER TABLE choreographed_orders ADD COLUMN traceparent TEXT"]
    }

    struct Record: Sendable, Hashable {
        var orderID: String
        var customerID: String
        var total: Money
        var progress: ChoreographyProgress
        var timeline: [ChoreographedOrderView.Entry]
        var createdAt: Date
        var finishedAt: Date?
        var traceparent: String?
    }

    static func insert(_ record: Record, in sql: any SQLDatabase) async throws {
        try await sql.raw("""
        INSERT INTO choreographed_orders (order_id, customer_id, total_minor, status, progress, timeline, created_at, traceparent)
        VALUES (\(bind: record.orderID), \(bind: record.customerID), \(bind: record.total.minorUnits), \(bind: record.progress.status.rawValue),
                \(bind: try StorageJSON.encode(record.progress)), \(bind: try StorageJSON.encode(record.timeline)), \(bind: StorageClock.format(record.createdAt)),
                \(bind: record.traceparent))
        """).run()
    }

    static func update(_ record: Record, in sql: any SQLDatabase) async throws {
        try await sql.raw("""
        UPDATE choreographed_orders SET status = \(bind: record.progress.status.rawValue), progress = \(bind: try StorageJSON.encode(record.progress)),
            timeline = \(bind: try StorageJSON.encode(record.timeline)), finished_at = \(bind: record.finishedAt.map(StorageClock.format))
        WHERE order_id = \(bind: record.orderID)
        """).run()
    }

    static func record(_ order: String, in sql: any SQLDatabase) async throws -> Record? {
        try await sql.raw("SELECT * FROM choreographed_orders WHERE order_id = \(bind: order)").first().map { row in
            Record(
                orderID: try row.decode(column: "order_id", as: String.self),
                customerID: try row.decode(column: "customer_id", as: String.self),
                total: Money(minorUnits: try row.decode(column: "total_minor", as: Int64.self)),
                progress: try row.decodeJSON(column: "progress", as: ChoreographyProgress.self),
                timeline: try row.decodeJSON(column: "timeline", as: [ChoreographedOrderView.Entry].self),
                createdAt: StorageClock.parse(try row.decode(column: "created_at", as: String.self)) ?? Date(timeIntervalSince1970: 0),
                finishedAt: try row.decode(column: "finished_at", as: String?.self).flatMap(StorageClock.parse),
                traceparent: try row.decode(column: "traceparent", as: String?.self)
            )
        }
    }

    /// How many choreographed orders are in each status.
    static func counts(in sql: any SQLDatabase) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try await sql.raw("SELECT status, COUNT(*) AS n FROM choreographed_orders GROUP BY status").all() {
            counts[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self)
        }
        return counts
    }
}
