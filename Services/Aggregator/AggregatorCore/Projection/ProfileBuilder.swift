import Contracts
import Foundation
import Messaging
import SQLKit
import Storage

/// Computes a customer's profile from the fact tables, with the merge rules: a pure
/// function of the facts, so any order of events gives the same profile, and a rebuild
/// gives the same bytes.
struct ProfileBuilder: Sendable {
    let tables: ProjectionTables
    let rules: MergeRules
    /// Addresses and provenances decoded in earlier refreshes (the live projection keeps
    /// one across refreshes: a customer's recent orders are read again on every refresh).
    var decoded = DecodedColumns()

    /// Decoded JSON columns, by their text.
    final class DecodedColumns: Sendable {
        let addresses = DocumentCache<Address>()
        let provenances = DocumentCache<Provenance>()
    }
    /// The lists (orders, addresses, billing, shipments) hold the most recent this many;
    /// counts and money cover every order.
    static let recent = 50

    /// Recomputes and stores the profiles of `customers`; returns the new documents (JSON,
    /// as stored) of those that exist (a customer with neither profile data nor orders has none).
    func refresh(_ customers: Set<String>, in sql: any SQLDatabase) async throws -> [String: String] {
        var result: [String: String] = [:]
        for id in customers.sorted() {
            guard let profile = try await build(id, in: sql) else { continue }
            let document = try StorageJSON.encode(profile)
            try await sql.raw("""
            INSERT INTO \(unsafeRaw: tables.profiles) (customer_id, tier, document) VALUES (\(bind: id), \(bind: profile.tier?.value), \(bind: document))
            ON CONFLICT (customer_id) DO UPDATE SET tier = excluded.tier, document = excluded.document
            """).run()
            result[id] = document
        }
        return result
    }

    /// Recomputes every profile (after a rebuild's replay).
    func refreshAll(in sql: any SQLDatabase) async throws {
        let ids = try await sql.raw("""
        SELECT customer_id FROM \(unsafeRaw: tables.customers) UNION SELECT customer_id FROM \(unsafeRaw: tables.orders) WHERE customer_id IS NOT NULL
        """).all().map { try $0.decode(column: "customer_id", as: String.self) }
        _ = try await refresh(Set(ids), in: sql)
    }

    func build(_ id: String, in sql: any SQLDatabase) async throws -> CustomerProfile? {
        let customerRow = try await sql.raw("SELECT document, prov FROM \(unsafeRaw: tables.customers) WHERE customer_id = \(bind: id)").first()
        let customer = try customerRow.map { try $0.decodeJSON(column: "document", as: Customer.self) }
        let customerProv = try customerRow.flatMap { try $0.decodeJSONIfPresent(column: "prov", as: Provenance.self, cache: decoded.provenances) }

        let orderRows = try await sql.raw("""
        SELECT o.order_id, o.status, o.total_minor, o.mode, o.ship_to, o.placed_at, o.placed_prov, o.finished_at, o.status_at,
               p.processor, p.card_brand, p.card_last4, p.billing_name, p.billing_phone, p.authorized_minor, p.captured_minor,
               p.voided_minor, p.refunded_minor, p.authorized_at, p.prov AS payment_prov,
               s.carrier, s.tracking_number, s.priority, s.fee_minor, s.status AS shipment_status
        FROM \(unsafeRaw: tables.orders) o
        LEFT JOIN \(unsafeRaw: tables.payments) p ON p.order_id = o.order_id
        LEFT JOIN \(unsafeRaw: tables.shipments) s ON s.order_id = o.order_id
        WHERE o.customer_id = \(bind: id)
        ORDER BY o.placed_at DESC, o.order_id
        LIMIT \(bind: Self.recent)
        """).all()
        guard customer != nil || !orderRows.isEmpty else { return nil }
        // Over every order of the customer, not only the recent ones: the running totals,
        // and look-ups that read one entry of an index (none scans the customer's history).
        let totals = CustomerTotals(tables: tables)
        let counts = try await totals.statusCounts(of: id, in: sql)
        let money = try await totals.money(of: id, in: sql)
        func latest(_ column: String, of table: String, where key: String) async throws -> String? {
            try await sql.raw("SELECT MAX(\(unsafeRaw: column)) AS latest FROM \(unsafeRaw: table) WHERE \(unsafeRaw: key) = \(bind: id)").first()?
                .decode(column: "latest", as: String?.self)
        }
        func latestBilling(_ column: String) async throws -> (String, Provenance)? {
            guard let row = try await sql.raw("""
            SELECT \(unsafeRaw: column) AS value, prov FROM \(unsafeRaw: tables.payments)
            WHERE counted_customer = \(bind: id) AND \(unsafeRaw: column) IS NOT NULL AND prov IS NOT NULL
            ORDER BY authorized_at DESC, order_id LIMIT 1
            """).first() else { return nil }
            guard let prov = try row.decodeJSONIfPresent(column: "prov", as: Provenance.self, cache: decoded.provenances) else { return nil }
            return (try row.decode(column: "value", as: String.self), prov)
        }

        var orders: [CustomerProfile.OrderEntry] = []
        var billing: [CustomerProfile.Billing] = []
        var shipments: [CustomerProfile.Shipment] = []
        var addresses: [CustomerProfile.KnownAddress] = []
        var lastEventAt = customerProv?.occurredAt
        func seen(_ date: Date?) {
            guard let date else { return }
            if lastEventAt == nil || date > lastEventAt! { lastEventAt = date }
        }
        seen(try await latest("placed_at", of: tables.orders, where: "customer_id").flatMap(MessageCoding.parseTimestamp))
        seen(try await latest("status_at", of: tables.orders, where: "customer_id").flatMap(MessageCoding.parseTimestamp))
        seen(try await latest("authorized_at", of: tables.payments, where: "counted_customer").flatMap(MessageCoding.parseTimestamp))
        // Candidates from payment (the latest authorization with the value) and orders (the latest order).
        let paymentName = try await latestBilling("billing_name")
        let paymentPhone = try await latestBilling("billing_phone")
        var orderAddress: (Address, Provenance)?

        for row in orderRows {
            let orderID = try row.decode(column: "order_id", as: String.self)
            let status = try row.decode(column: "status", as: String.self)
            let placedAt = try row.decode(column: "placed_at", as: String?.self).flatMap(MessageCoding.parseTimestamp)
            let finishedAt = try row.decode(column: "finished_at", as: String?.self).flatMap(MessageCoding.parseTimestamp)
            orders.append(.init(
                orderId: orderID, status: status, total: try row.decode(column: "total_minor", as: Int64?.self).map(Money.init(minorUnits:)),
                placedAt: placedAt, finishedAt: finishedAt, mode: try row.decode(column: "mode", as: String?.self)
            ))
            if let shipTo = try row.decodeJSONIfPresent(column: "ship_to", as: Address.self, cache: decoded.addresses),
               let prov = try row.decodeJSONIfPresent(column: "placed_prov", as: Provenance.self, cache: decoded.provenances) {
                addresses.append(.init(kind: "order", address: shipTo, orderId: orderID, source: prov))
                if orderAddress == nil { orderAddress = (shipTo, prov) }
            }
            let brand = try row.decode(column: "card_brand", as: String?.self)
            let billingName = try row.decode(column: "billing_name", as: String?.self)
            let billingPhone = try row.decode(column: "billing_phone", as: String?.self)
            let authorizedAt = try row.decode(column: "authorized_at", as: String?.self).flatMap(MessageCoding.parseTimestamp)
            if brand != nil || billingName != nil || billingPhone != nil {
                billing.append(.init(
                    orderId: orderID, cardBrand: brand, cardLast4: try row.decode(column: "card_last4", as: String?.self),
                    billingName: billingName, billingPhone: billingPhone, processor: try row.decode(column: "processor", as: String?.self), at: authorizedAt
                ))
            }
            if let shipmentStatus = try row.decode(column: "shipment_status", as: String?.self) {
                shipments.append(.init(
                    orderId: orderID, carrier: try row.decode(column: "carrier", as: String?.self),
                    trackingNumber: try row.decode(column: "tracking_number", as: String?.self),
                    priority: (try row.decode(column: "priority", as: Int?.self) ?? 0) != 0,
                    fee: try row.decode(column: "fee_minor", as: Int64?.self).map(Money.init(minorUnits:)), status: shipmentStatus
                ))
            }
        }
        // The profile's own addresses first, then the ones used in orders, most recent first.
        if let customer, let customerProv {
            var own: [CustomerProfile.KnownAddress] = []
            if let shipping = customer.shippingAddress { own.append(.init(kind: "shipping", address: shipping, orderId: nil, source: customerProv)) }
            if let billingAddress = customer.billingAddress { own.append(.init(kind: "billing", address: billingAddress, orderId: nil, source: customerProv)) }
            addresses = own + addresses
        }

        var conflicts: [FieldConflict] = []
        func merge<V: Sendable & Hashable & Codable>(_ field: String, _ candidates: [String: (V, Provenance)], text: (V) -> String) -> Sourced<V>? {
            let present = candidates.sorted { $0.key < $1.key }
            if Set(present.map { text($0.value.0) }).count > 1 {
                let winner = rules.precedence(field).first { candidates[$0] != nil } ?? present[0].key
                conflicts.append(FieldConflict(
                    field: field,
                    candidates: present.map { .init(source: $0.key, value: text($0.value.0), at: $0.value.1.occurredAt) },
                    winner: winner
                ))
            }
            guard let source = rules.precedence(field).first(where: { candidates[$0] != nil }), let (value, prov) = candidates[source] else { return nil }
            return Sourced(value: value, source: prov)
        }
        var nameCandidates: [String: (String, Provenance)] = [:]
        var emailCandidates: [String: (String, Provenance)] = [:]
        var phoneCandidates: [String: (String, Provenance)] = [:]
        var addressCandidates: [String: (Address, Provenance)] = [:]
        if let customer, let customerProv {
            nameCandidates["profile"] = (customer.name, customerProv)
            emailCandidates["profile"] = (customer.email, customerProv)
            if let phone = customer.phone { phoneCandidates["profile"] = (phone, customerProv) }
            if let address = customer.shippingAddress { addressCandidates["profile"] = (address, customerProv) }
        }
        if let paymentName { nameCandidates["payment"] = paymentName }
        if let paymentPhone { phoneCandidates["payment"] = paymentPhone }
        if let orderAddress { addressCandidates["orders"] = orderAddress }
        let describe: (Address) -> String = { "\($0.name), \($0.line1), \($0.postalCode) \($0.city), \($0.country)" }

        let contact = CustomerProfile.Contact(
            name: merge("name", nameCandidates, text: { $0 }),
            email: merge("email", emailCandidates, text: { $0 }),
            phone: merge("phone", phoneCandidates, text: { $0 })
        )
        let shippingAddress = merge("shippingAddress", addressCandidates, text: describe)
        return CustomerProfile(
            customerId: id,
            contact: contact,
            tier: customer.flatMap { c in customerProv.map { Sourced(value: c.tier.rawValue, source: $0) } },
            blocked: customer.flatMap { c in customerProv.map { Sourced(value: c.blocked, source: $0) } },
            shippingAddress: shippingAddress,
            addresses: addresses,
            billing: billing,
            orders: orders,
            money: .init(
                authorized: Money(minorUnits: money.authorized), captured: Money(minorUnits: money.captured),
                voided: Money(minorUnits: money.voided), refunded: Money(minorUnits: money.refunded),
                lifetimeValue: Money(minorUnits: money.captured - money.refunded)
            ),
            shipments: shipments,
            orderCounts: counts,
            conflicts: conflicts.sorted { $0.field < $1.field },
            lastEventAt: lastEventAt
        )
    }
}
