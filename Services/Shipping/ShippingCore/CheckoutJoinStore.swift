import Contracts
import Foundation
import SQLKit
import Storage

/// The `checkout_joins` table: shipping's own state for the choreographed checkout. A
/// join waits for three events about an order (customer verified, stock reserved, payment
/// authorized) and ends `scheduled`, `closed` (a failure event arrived) or `refused` (its
/// deadline passed). Only a waiting join changes, so a decision is made once.
enum CheckoutJoinStore {
    static let migration = Migration("shipping-002-checkout-joins") { _ in
        ["""
        CREATE TABLE checkout_joins (
            order_id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            deadline TEXT NOT NULL,
            verified INTEGER NOT NULL,
            reserved INTEGER NOT NULL,
            authorized INTEGER NOT NULL,
            tier TEXT,
            total_minor BIGINT,
            ship_to TEXT,
            reason TEXT,
            updated_at TEXT NOT NULL
        )
        """, "CREATE INDEX checkout_joins_waiting ON checkout_joins (state, deadline)"]
    }

    /// The order's trace, so a refusal at the deadline continues it.
    static let traceMigration = Migration("shipping-003-checkout-join-traces") { _ in
        ["ALTER TABLE checkout_joins ADD COLUMN traceparent TEXT"]
    }

    enum State: String, Sendable, Codable {
        case waiting, scheduled, closed, refused
    }

    struct Join: Sendable, Hashable {
        var orderID: String
        var state: State
        var deadline: String
        var verified = false
        var reserved = false
        var authorized = false
        var tier: CustomerTier?
        var total: Money?
        var shipTo: Address?
        var reason: String?
        /// The `traceparent` of the first event seen for the order.
        var traceparent: String?

        var isComplete: Bool { verified && reserved && authorized }

        /// What the join still waits for, by event name.
        var missing: [String] {
            [(verified, "customer-verified"), (reserved, "stock-reserved"), (authorized, "payment-authorized")].filter { !$0.0 }.map(\.1)
        }
    }

    static func join(order: String, in sql: any SQLDatabase) async throws -> Join? {
        try await sql.raw("SELECT * FROM checkout_joins WHERE order_id = \(bind: order)").first().map { row in
            Join(
                orderID: try row.decode(column: "order_id", as: String.self),
                state: try row.decodeEnum(column: "state", as: State.self),
                deadline: try row.decode(column: "deadline", as: String.self),
                verified: try row.decode(column: "verified", as: Int.self) != 0,
                reserved: try row.decode(column: "reserved", as: Int.self) != 0,
                authorized: try row.decode(column: "authorized", as: Int.self) != 0,
                tier: try row.decode(column: "tier", as: String?.self).flatMap(CustomerTier.init(rawValue:)),
                total: try row.decode(column: "total_minor", as: Int64?.self).map(Money.init(minorUnits:)),
                shipTo: try row.decodeJSONIfPresent(column: "ship_to", as: Address.self),
                reason: try row.decode(column: "reason", as: String?.self),
                traceparent: try row.decode(column: "traceparent", as: String?.self)
            )
        }
    }

    static func save(_ join: Join, in sql: any SQLDatabase) async throws {
        let shipTo = try StorageJSON.encodeIfPresent(join.shipTo)
        try await sql.raw("""
        INSERT INTO checkout_joins (order_id, state, deadline, verified, reserved, authorized, tier, total_minor, ship_to, reason, updated_at, traceparent)
        VALUES (\(bind: join.orderID), \(bind: join.state.rawValue), \(bind: join.deadline), \(bind: join.verified ? 1 : 0), \(bind: join.reserved ? 1 : 0),
                \(bind: join.authorized ? 1 : 0), \(bind: join.tier?.rawValue), \(bind: join.total?.minorUnits), \(bind: shipTo), \(bind: join.reason), \(bind: StorageClock.now()),
                \(bind: join.traceparent))
        ON CONFLICT (order_id) DO UPDATE SET state = excluded.state, deadline = excluded.deadline, verified = excluded.verified,
            reserved = excluded.reserved, authorized = excluded.authorized, tier = excluded.tier, total_minor = excluded.total_minor,
            ship_to = excluded.ship_to, reason = excluded.reason, updated_at = excluded.updated_at, traceparent = excluded.traceparent
        """).run()
    }

    /// Waiting joins whose deadline passed.
    static func expired(now: Date, limit: Int, in sql: any SQLDatabase) async throws -> [String] {
        try await sql.raw("""
        SELECT order_id FROM checkout_joins WHERE state = 'waiting' AND deadline <= \(bind: StorageClock.format(now)) ORDER BY deadline LIMIT \(bind: limit)
        """).all().map { try $0.decode(column: "order_id", as: String.self) }
    }

    /// The earliest deadline of a waiting join.
    static func earliestDeadline(in sql: any SQLDatabase) async throws -> String? {
        try await sql.raw("SELECT MIN(deadline) AS deadline FROM checkout_joins WHERE state = 'waiting'").first()?.decode(column: "deadline", as: String?.self)
    }

    /// Gives every waiting join at least `deadline` from now: shipping's own downtime is
    /// not the other services' fault.
    static func extendWaiting(until deadline: Date, in sql: any SQLDatabase) async throws {
        let text = StorageClock.format(deadline)
        try await sql.raw("UPDATE checkout_joins SET deadline = \(bind: text) WHERE state = 'waiting' AND deadline < \(bind: text)").run()
    }
}
