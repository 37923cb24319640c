import Contracts
import SQLKit
import Storage

/// The `stock` and `reservations` tables.
enum StockStore {
    static let migration = Migration("inventory-001-stock") { _ in
        [
            """
            CREATE TABLE stock (
                sku TEXT PRIMARY KEY,
                on_hand INTEGER NOT NULL,
                reserved INTEGER NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE reservations (
                order_id TEXT NOT NULL,
                sku TEXT NOT NULL,
                quantity INTEGER NOT NULL,
                status TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (order_id, sku)
            )
            """,
        ]
    }


    struct Reservation: Sendable, Hashable, Codable {
        var orderID: String
        var sku: String
        var quantity: Int
        var status: ReservationStatus

        enum CodingKeys: String, CodingKey { case orderID = "orderId", sku, quantity, status }
    }

    static func level(_ sku: String, in sql: any SQLDatabase) async throws -> StockLevel? {
        try await sql.raw("SELECT sku, on_hand, reserved FROM stock WHERE sku = \(bind: sku)").first().map(level)
    }

    static func levels(in sql: any SQLDatabase) async throws -> [StockLevel] {
        try await sql.raw("SELECT sku, on_hand, reserved FROM stock ORDER BY sku").all().map(level)
    }

    static func set(_ sku: String, onHand: Int, in sql: any SQLDatabase) async throws {
        let now = StorageClock.now()
        try await sql.raw("""
        INSERT INTO stock (sku, on_hand, reserved, updated_at) VALUES (\(bind: sku), \(bind: onHand), 0, \(bind: now))
        ON CONFLICT (sku) DO UPDATE SET on_hand = \(bind: onHand), updated_at = \(bind: now)
        """).run()
    }

    static func adjust(_ sku: String, onHand: Int = 0, reserved: Int, in sql: any SQLDatabase) async throws {
        try await sql.raw("""
        UPDATE stock SET on_hand = on_hand + \(bind: onHand), reserved = reserved + \(bind: reserved), updated_at = \(bind: StorageClock.now())
        WHERE sku = \(bind: sku)
        """).run()
    }

    static func reservations(order: String, in sql: any SQLDatabase) async throws -> [Reservation] {
        try await sql.raw("SELECT order_id, sku, quantity, status FROM reservations WHERE order_id = \(bind: order) ORDER BY sku").all().map { row in
            Reservation(
                orderID: try row.decode(column: "order_id", as: String.self),
                sku: try row.decode(column: "sku", as: String.self),
                quantity: try row.decode(column: "quantity", as: Int.self),
                status: try row.decodeEnum(column: "status", as: ReservationStatus.self)
            )
        }
    }

    static func saveReservation(order: String, _ quantity: StockQuantity, status: ReservationStatus, in sql: any SQLDatabase) async throws {
        let now = StorageClock.now()
        try await sql.raw("""
        INSERT INTO reservations (order_id, sku, quantity, status, updated_at)
        VALUES (\(bind: order), \(bind: quantity.sku), \(bind: quantity.quantity), \(bind: status.rawValue), \(bind: now))
        ON CONFLICT (order_id, sku) DO UPDATE SET quantity = \(bind: quantity.quantity), status = \(bind: status.rawValue), updated_at = \(bind: now)
        """).run()
    }

    static func count(in sql: any SQLDatabase) async throws -> Int {
        try await sql.raw("SELECT COUNT(*) AS n FROM stock").first()?.decode(column: "n", as: Int.self) ?? 0
    }

    private static func level(_ row: any SQLRow) throws -> StockLevel {
        StockLevel(
            sku: try row.decode(column: "sku", as: String.self),
            onHand: try row.decode(column: "on_hand", as: Int.self),
            reserved: try row.decode(column: "reserved", as: Int.self)
        )
    }
}
