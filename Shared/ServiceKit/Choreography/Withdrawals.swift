import SQLKit
import Storage

/// The choreographed orders a service withdrew from: a failure event reached it before
/// the event that would have made it act (a payment declined before the stock was
/// reserved), so when that event arrives the service does nothing. Written in the
/// transaction of the failure event's reaction, read in the one of the late event.
public enum Withdrawals {
    public static let migration = Migration("choreography-001-withdrawals") { _ in
        ["""
        CREATE TABLE choreography_withdrawals (
            order_id TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            withdrawn_at TEXT NOT NULL
        )
        """]
    }

    public static func withdraw(order: String, reason: String, in sql: any SQLDatabase) async throws {
        try await sql.raw("""
        INSERT INTO choreography_withdrawals (order_id, reason, withdrawn_at) VALUES (\(bind: order), \(bind: reason), \(bind: StorageClock.now()))
        ON CONFLICT (order_id) DO NOTHING
        """).run()
    }

    public static func isWithdrawn(order: String, in sql: any SQLDatabase) async throws -> Bool {
        try await sql.raw("SELECT 1 AS one FROM choreography_withdrawals WHERE order_id = \(bind: order)").first() != nil
    }
}
