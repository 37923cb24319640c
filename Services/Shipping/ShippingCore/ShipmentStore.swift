import Contracts
import SQLKit
import Storage

/// The `shipments` table.
enum ShipmentStore {
    static let migration = Migration("shipping-001-shipments") { _ in
        ["""
        CREATE TABLE shipments (
            order_id TEXT PRIMARY KEY,
            carrier TEXT NOT NULL,
            tracking_number TEXT NOT NULL,
            label_reference TEXT NOT NULL,
            fee_minor BIGINT NOT NULL,
            priority INTEGER NOT NULL,
            status TEXT NOT NULL,
            ship_to TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """]
    }

    struct Shipment: Sendable, Hashable, Codable {
        var orderID: String
        var carrier: String
        var trackingNumber: String
        var labelReference: String
        var fee: Money
        var priority: Bool
        var status: ShipmentStatus
        var shipTo: Address

        enum CodingKeys: String, CodingKey {
            case orderID = "orderId", carrier, trackingNumber, labelReference, fee, priority, status, shipTo
        }
    }

    static func shipment(order: String, in sql: any SQLDatabase) async throws -> Shipment? {
        try await sql.raw("SELECT * FROM shipments WHERE order_id = \(bind: order)").first().map { row in
            Shipment(
                orderID: try row.decode(column: "order_id", as: String.self),
                carrier: try row.decode(column: "carrier", as: String.self),
                trackingNumber: try row.decode(column: "tracking_number", as: String.self),
                labelReference: try row.decode(column: "label_reference", as: String.self),
                fee: Money(minorUnits: try row.decode(column: "fee_minor", as: Int64.self)),
                priority: try row.decode(column: "priority", as: Int.self) != 0,
                status: try row.decodeEnum(column: "status", as: ShipmentStatus.self),
                shipTo: try row.decodeJSON(column: "ship_to", as: Address.self)
            )
        }
    }

    static func save(_ shipment: Shipment, in sql: any SQLDatabase) async throws {
        let now = StorageClock.now()
        let shipTo = try StorageJSON.encode(shipment.shipTo)
        try await sql.raw("""
        INSERT INTO shipments (order_id, carrier, tracking_number, label_reference, fee_minor, priority, status, ship_to, updated_at)
        VALUES (\(bind: shipment.orderID), \(bind: shipment.carrier), \(bind: shipment.trackingNumber), \(bind: shipment.labelReference),
                \(bind: shipment.fee.minorUnits), \(bind: shipment.priority ? 1 : 0), \(bind: shipment.status.rawValue), \(bind: shipTo), \(bind: now))
        ON CONFLICT (order_id) DO UPDATE SET carrier = \(bind: shipment.carrier), tracking_number = \(bind: shipment.trackingNumber),
            label_reference = \(bind: shipment.labelReference), fee_minor = \(bind: shipment.fee.minorUnits),
            priority = \(bind: shipment.priority ? 1 : 0), status = \(bind: shipment.status.rawValue), ship_to = \(bind: shipTo), updated_at = \(bind: now)
        """).run()
    }
}
