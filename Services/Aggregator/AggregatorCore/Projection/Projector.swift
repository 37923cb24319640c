import Contracts
import Foundation
import Messaging
import SQLKit
import Storage

/// Applies one event to the fact tables, idempotently: each write sets what the event
/// says (an amount, a status, a row keyed by the event), so applying an event twice
/// changes nothing. Returns the customers whose profile may have changed.
struct Projector: Sendable {
    let tables: ProjectionTables
    /// Every write to an order's `orders` or `payments` row goes through `totals.updating`.
    var totals: CustomerTotals { CustomerTotals(tables: tables) }

    /// The event types the aggregator reads, by `message-type`, with their source.
    static let sources: [String: ServiceName] = Dictionary(
        uniqueKeysWithValues: EventCatalog.all.filter { subscribed.contains($0.source) }.map { ($0.messageType, $0.source) }
    )

    /// The event sources the aggregator subscribes to.
    static let subscribed: [ServiceName] = [.orders, .profile, .payment, .inventory, .shipping]

    /// Applies `envelope` (already decoded as one of the known types) and returns the
    /// customers to recompute. Events that only belong to an order's timeline return the
    /// order's customer when it is known.
    func apply(_ envelope: Envelope, in sql: any SQLDatabase) async throws -> Set<String> {
        guard let source = Self.sources[envelope.messageType] else { return [] }
        let prov = Provenance(envelope, source: source).json
        let at = StorageClock.format(envelope.occurredAt)
        func customer(of order: String) async throws -> Set<String> {
            guard let id = try await sql.raw("SELECT customer_id FROM \(unsafeRaw: tables.orders) WHERE order_id = \(bind: order)").first()?
                .decode(column: "customer_id", as: String?.self) else { return [] }
            return [id]
        }

        switch envelope.messageType {
        case CustomerRegistered.messageType, CustomerUpdated.messageType:
            let customer = envelope.messageType == CustomerRegistered.messageType
                ? try envelope.decode(CustomerRegistered.self).customer : try envelope.decode(CustomerUpdated.self).customer
            // The highest version wins, whatever the order of arrival.
            try await sql.raw("""
            INSERT INTO \(unsafeRaw: tables.customers) (customer_id, version, document, prov)
            VALUES (\(bind: customer.id), \(bind: customer.version), \(bind: try StorageJSON.encode(customer)), \(bind: prov))
            ON CONFLICT (customer_id) DO UPDATE SET version = excluded.version, document = excluded.document, prov = excluded.prov
            WHERE excluded.version > \(unsafeRaw: tables.customers).version
            """).run()
            return [customer.id]

        case OrderPlaced.messageType:
            let placed = try envelope.decode(OrderPlaced.self)
            try await totals.updating(placed.orderID, in: sql) {
                try await sql.raw("""
                INSERT INTO \(unsafeRaw: tables.orders) (order_id, customer_id, total_minor, mode, ship_to, placed_at, placed_prov, status, status_at)
                VALUES (\(bind: placed.orderID), \(bind: placed.customerID), \(bind: placed.lines.total.minorUnits), \(bind: placed.mode ?? "orchestration"),
                        \(bind: try StorageJSON.encode(placed.shipTo)), \(bind: at), \(bind: prov), 'running', \(bind: at))
                ON CONFLICT (order_id) DO UPDATE SET customer_id = excluded.customer_id, total_minor = excluded.total_minor, mode = excluded.mode,
                    ship_to = excluded.ship_to, placed_at = excluded.placed_at, placed_prov = excluded.placed_prov
                """).run()
            }
            for (index, line) in placed.lines.enumerated() {
                try await sql.raw("""
                INSERT INTO \(unsafeRaw: tables.orderLines) (order_id, line, sku, quantity, unit_price_minor)
                VALUES (\(bind: placed.orderID), \(bind: index), \(bind: line.sku), \(bind: line.quantity), \(bind: line.unitPrice.minorUnits))
                ON CONFLICT DO NOTHING
                """).run()
            }
            try await timeline(envelope, order: placed.orderID, source: source, detail: "\(placed.lines.count) lines, \(placed.lines.total)", in: sql)
            return [placed.customerID]

        case OrderCompleted.messageType, OrderFailed.messageType, OrderNeedsAttention.messageType:
            let (order, customerID, status, reason): (String, String, String, String?) = switch envelope.messageType {
            case OrderCompleted.messageType:
                try { let e = try envelope.decode(OrderCompleted.self); return (e.orderID, e.customerID, "completed", nil) }()
            case OrderFailed.messageType:
                try { let e = try envelope.decode(OrderFailed.self); return (e.orderID, e.customerID, e.status, e.reason) }()
            default:
                try { let e = try envelope.decode(OrderNeedsAttention.self); return (e.orderID, e.customerID, "needs-attention", e.reason) }()
            }
            // A final status replaces `running`; among final statuses the latest wins (a
            // re-driven order can go from needs-attention to completed).
            try await totals.updating(order, in: sql) {
                try await sql.raw("""
                INSERT INTO \(unsafeRaw: tables.orders) (order_id, customer_id, status, status_at, reason, finished_at, status_prov)
                VALUES (\(bind: order), \(bind: customerID), \(bind: status), \(bind: at), \(bind: reason), \(bind: at), \(bind: prov))
                ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at, reason = excluded.reason,
                    finished_at = excluded.finished_at, status_prov = excluded.status_prov,
                    customer_id = COALESCE(\(unsafeRaw: tables.orders).customer_id, excluded.customer_id)
                WHERE \(unsafeRaw: tables.orders).finished_at IS NULL OR excluded.status_at >= \(unsafeRaw: tables.orders).finished_at
                """).run()
            }
            try await timeline(envelope, order: order, source: source, detail: reason.map { "\(status): \($0)" } ?? status, in: sql)
            return [customerID]

        case PaymentAuthorized.messageType:
            let event = try envelope.decode(PaymentAuthorized.self)
            let customer = try await totals.updating(event.orderID, in: sql) {
                try await payment(event.orderID, in: sql)
                try await sql.raw("""
                UPDATE \(unsafeRaw: tables.payments) SET authorized_minor = \(bind: event.amount.minorUnits), processor = \(bind: event.processor.rawValue),
                    customer_id = COALESCE(\(bind: event.customerID), customer_id), card_brand = \(bind: event.card?.brand), card_last4 = \(bind: event.card?.last4),
                    billing_name = \(bind: event.billingName), billing_phone = \(bind: event.billingPhone), authorized_at = \(bind: at), prov = \(bind: prov)
                WHERE order_id = \(bind: event.orderID)
                """).run()
            }
            try await timeline(envelope, order: event.orderID, source: source, detail: "\(event.amount) by \(event.processor.rawValue)", in: sql)
            return Set([customer, event.customerID].compactMap { $0 })

        case PaymentCaptured.messageType, PaymentVoided.messageType, PaymentRefunded.messageType:
            let (order, amount, column): (String, Money, String) = switch envelope.messageType {
            case PaymentCaptured.messageType: try { let e = try envelope.decode(PaymentCaptured.self); return (e.orderID, e.amount, "captured_minor") }()
            case PaymentVoided.messageType: try { let e = try envelope.decode(PaymentVoided.self); return (e.orderID, e.amount, "voided_minor") }()
            default: try { let e = try envelope.decode(PaymentRefunded.self); return (e.orderID, e.amount, "refunded_minor") }()
            }
            let customer = try await totals.updating(order, in: sql) {
                try await payment(order, in: sql)
                try await sql.raw("UPDATE \(unsafeRaw: tables.payments) SET \(unsafeRaw: column) = \(bind: amount.minorUnits) WHERE order_id = \(bind: order)").run()
            }
            try await timeline(envelope, order: order, source: source, detail: "\(amount)", in: sql)
            return Set([customer].compactMap { $0 })

        case PaymentDeclined.messageType:
            let event = try envelope.decode(PaymentDeclined.self)
            let customer = try await totals.updating(event.orderID, in: sql) {
                    try await payment(event.orderID, in: sql)
                    try await sql.raw("UPDATE \(unsafeRaw: tables.payments) SET declined = 1 WHERE order_id = \(bind: event.orderID)").run()
            }
            try await timeline(envelope, order: event.orderID, source: source, detail: event.reason, in: sql)
            return Set([customer].compactMap { $0 })

        case PaymentFailed.messageType:
            let event = try envelope.decode(PaymentFailed.self)
            try await timeline(envelope, order: event.orderID, source: source, detail: "\(event.processor.rawValue): \(event.reason)", in: sql)
            return []

        case ShipmentScheduled.messageType:
            let event = try envelope.decode(ShipmentScheduled.self)
            try await sql.raw("""
            INSERT INTO \(unsafeRaw: tables.shipments) (order_id, carrier, tracking_number, priority, fee_minor, status, scheduled_at, prov)
            VALUES (\(bind: event.orderID), \(bind: event.carrier), \(bind: event.trackingNumber), \(bind: event.priority ? 1 : 0),
                    \(bind: event.fee.minorUnits), 'scheduled', \(bind: at), \(bind: prov))
            ON CONFLICT (order_id) DO UPDATE SET carrier = excluded.carrier, tracking_number = excluded.tracking_number,
                priority = excluded.priority, fee_minor = excluded.fee_minor, scheduled_at = excluded.scheduled_at, prov = excluded.prov
            """).run()
            try await timeline(envelope, order: event.orderID, source: source, detail: "\(event.carrier) \(event.trackingNumber)", in: sql)
            return try await customer(of: event.orderID)

        case ShipmentCancelled.messageType:
            let event = try envelope.decode(ShipmentCancelled.self)
            try await sql.raw("""
            INSERT INTO \(unsafeRaw: tables.shipments) (order_id, status) VALUES (\(bind: event.orderID), 'cancelled')
            ON CONFLICT (order_id) DO UPDATE SET status = 'cancelled'
            """).run()
            try await timeline(envelope, order: event.orderID, source: source, detail: nil, in: sql)
            return try await customer(of: event.orderID)

        case StockReserved.messageType, StockReleased.messageType, StockCommitted.messageType, StockReservationFailed.messageType:
            let (order, status, detail): (String, String, String?) = switch envelope.messageType {
            case StockReserved.messageType: try (envelope.decode(StockReserved.self).orderID, "reserved", nil)
            case StockReleased.messageType: try { let e = try envelope.decode(StockReleased.self); return (e.orderID, "released", e.lines.isEmpty ? "nothing to release" : nil) }()
            case StockCommitted.messageType: try (envelope.decode(StockCommitted.self).orderID, "committed", nil)
            default: try { let e = try envelope.decode(StockReservationFailed.self); return (e.orderID, "failed", "short: " + e.shortSKUs.joined(separator: ", ")) }()
            }
            // Later steps win: reserved < released/committed; a reservation's fate is final.
            // (A choreographed order's `stock-released` with no lines says nothing was held.)
            if detail == "nothing to release" {
                try await timeline(envelope, order: order, source: source, detail: detail, in: sql)
                return try await customer(of: order)
            }
            try await sql.raw("""
            INSERT INTO \(unsafeRaw: tables.stock) (order_id, status, at) VALUES (\(bind: order), \(bind: status), \(bind: at))
            ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, at = excluded.at
            WHERE \(unsafeRaw: tables.stock).status = 'reserved' OR excluded.at > \(unsafeRaw: tables.stock).at
            """).run()
            try await timeline(envelope, order: order, source: source, detail: detail ?? status, in: sql)
            return try await customer(of: order)

        case StockLevelSet.messageType:
            let event = try envelope.decode(StockLevelSet.self)
            try await sql.raw("""
            INSERT INTO \(unsafeRaw: tables.levels) (sku, on_hand, set_at) VALUES (\(bind: event.sku), \(bind: event.onHand), \(bind: at))
            ON CONFLICT (sku) DO UPDATE SET on_hand = excluded.on_hand, set_at = excluded.set_at WHERE excluded.set_at >= \(unsafeRaw: tables.levels).set_at
            """).run()
            return []

        case CustomerVerified.messageType, CustomerRejected.messageType, OrderStuck.messageType, ShipmentRefused.messageType:
            // Replies and alerts about an order: its timeline only.
            let detail: String? = switch envelope.messageType {
            case CustomerVerified.messageType: try envelope.decode(CustomerVerified.self).tier.rawValue
            case CustomerRejected.messageType: try envelope.decode(CustomerRejected.self).reason.rawValue
            case ShipmentRefused.messageType: try envelope.decode(ShipmentRefused.self).reason
            default: try { let e = try envelope.decode(OrderStuck.self); return "\(e.step) after \(e.attempts) attempts" }()
            }
            try await timeline(envelope, order: envelope.correlationID, source: source, detail: detail, in: sql)
            return []

        default:
            return []
        }
    }

    /// Makes sure the order's payment row exists.
    private func payment(_ order: String, in sql: any SQLDatabase) async throws {
        try await sql.raw("INSERT INTO \(unsafeRaw: tables.payments) (order_id) VALUES (\(bind: order)) ON CONFLICT DO NOTHING").run()
    }

    private func timeline(_ envelope: Envelope, order: String, source: ServiceName, detail: String?, in sql: any SQLDatabase) async throws {
        try await sql.raw("""
        INSERT INTO \(unsafeRaw: tables.timeline) (message_id, order_id, at, source, type, detail)
        VALUES (\(bind: envelope.messageID.lowercasedText), \(bind: order), \(bind: StorageClock.format(envelope.occurredAt)),
                \(bind: source.rawValue), \(bind: envelope.messageType), \(bind: detail))
        ON CONFLICT DO NOTHING
        """).run()
    }
}
