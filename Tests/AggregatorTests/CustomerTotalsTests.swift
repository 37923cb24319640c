@testable import AggregatorCore
import Contracts
import Foundation
import Messaging
import SQLKit
import Storage
import StorageTesting
import Testing

/// What a profile's lifetime figures are by definition: scans over the customer's facts
/// (the queries the profile builder ran before the running totals).
private struct Scanned: Equatable {
    var counts: [String: Int] = [:]
    var money = CustomerTotals.Share.Money()
    var lastPayment: String?
    var billingName: String?
}

private func scan(_ customer: String, in sql: any SQLDatabase) async throws -> Scanned {
    let t = ProjectionTables.live
    var result = Scanned()
    for row in try await sql.raw("SELECT status, COUNT(*) AS n FROM \(unsafeRaw: t.orders) WHERE customer_id = \(bind: customer) GROUP BY status").all() {
        result.counts[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self)
    }
    let sums = try await sql.raw("""
    SELECT CAST(COALESCE(SUM(p.authorized_minor), 0) AS BIGINT) AS a, CAST(COALESCE(SUM(p.captured_minor), 0) AS BIGINT) AS c,
           CAST(COALESCE(SUM(p.voided_minor), 0) AS BIGINT) AS v, CAST(COALESCE(SUM(p.refunded_minor), 0) AS BIGINT) AS r, MAX(p.authorized_at) AS last_payment
    FROM \(unsafeRaw: t.payments) p JOIN \(unsafeRaw: t.orders) o ON o.order_id = p.order_id WHERE o.customer_id = \(bind: customer)
    """).first()
    result.money = .init(
        authorized: try sums?.decode(column: "a", as: Int64.self) ?? 0, captured: try sums?.decode(column: "c", as: Int64.self) ?? 0,
        voided: try sums?.decode(column: "v", as: Int64.self) ?? 0, refunded: try sums?.decode(column: "r", as: Int64.self) ?? 0
    )
    result.lastPayment = try sums?.decode(column: "last_payment", as: String?.self)
    result.billingName = try await sql.raw("""
    SELECT p.billing_name FROM \(unsafeRaw: t.payments) p JOIN \(unsafeRaw: t.orders) o ON o.order_id = p.order_id
    WHERE o.customer_id = \(bind: customer) AND p.billing_name IS NOT NULL AND p.prov IS NOT NULL ORDER BY p.authorized_at DESC, p.order_id LIMIT 1
    """).first()?.decode(column: "billing_name", as: String.self)
    return result
}

/// The same figures from the running totals and the indexed look-ups the builder uses now.
private func kept(_ customer: String, in sql: any SQLDatabase) async throws -> Scanned {
    let t = ProjectionTables.live
    let totals = CustomerTotals(tables: t)
    return Scanned(
        counts: try await totals.statusCounts(of: customer, in: sql),
        money: try await totals.money(of: customer, in: sql),
        lastPayment: try await sql.raw("SELECT MAX(authorized_at) AS latest FROM \(unsafeRaw: t.payments) WHERE counted_customer = \(bind: customer)").first()?
            .decode(column: "latest", as: String?.self),
        billingName: try await sql.raw("""
        SELECT billing_name FROM \(unsafeRaw: t.payments) WHERE counted_customer = \(bind: customer) AND billing_name IS NOT NULL AND prov IS NOT NULL
        ORDER BY authorized_at DESC, order_id LIMIT 1
        """).first()?.decode(column: "billing_name", as: String.self)
    )
}

/// Orders of three customers with every kind of fact change: payments declined, voided,
/// captured and refunded, payments authorized without a customer, orders failed,
/// compensated, and parked then re-driven to completion.
private func mixedOrders(seed: UInt64) throws -> EventLog {
    var generator = SeededGenerator(seed: seed)
    var log = EventLog()
    let customers = ["bob", "alice", "carol"]
    for index in 0..<24 {
        let order = "o\(index)", customer = customers.randomElement(using: &generator)!
        let partition = Int32(index % 3)
        let amount = Money(minorUnits: Int64(100 * (index + 1)))
        try log.add(OrderPlaced(orderID: order, customerID: customer, lines: [OrderLine(sku: "SKU-\(index % 4)", quantity: 1, unitPrice: amount)],
                                shipTo: Address(name: customer, line1: "\(index) Main St", city: "Springfield", postalCode: "12345", country: "US")),
                    correlation: order, partition: partition)
        switch Int.random(in: 0..<5, using: &generator) {
        case 0:
            try log.add(PaymentDeclined(orderID: order, reason: "insufficient funds"), correlation: order, partition: partition)
            try log.add(OrderFailed(orderID: order, customerID: customer, status: "failed", reason: "declined"), correlation: order, partition: partition)
        case 1:
            try log.add(PaymentAuthorized(orderID: order, authorizationID: "A\(index)", amount: amount, processor: .primary,
                                          customerID: Bool.random(using: &generator) ? customer : nil, card: nil,
                                          billingName: "\(customer) \(index)", billingPhone: nil), correlation: order, partition: partition)
            try log.add(PaymentVoided(orderID: order, amount: amount), correlation: order, partition: partition)
            try log.add(OrderFailed(orderID: order, customerID: customer, status: "compensated", reason: "out of stock"), correlation: order, partition: partition)
        case 2:
            try log.add(PaymentAuthorized(orderID: order, authorizationID: "A\(index)", amount: amount, processor: .backup,
                                          customerID: customer, card: nil, billingName: nil, billingPhone: "+1 555 \(index)"), correlation: order, partition: partition)
            try log.add(OrderNeedsAttention(orderID: order, customerID: customer, reason: "capture timed out", unfinished: ["capture"]), correlation: order, partition: partition)
            try log.add(PaymentCaptured(orderID: order, amount: amount), correlation: order, partition: partition)
            try log.add(OrderCompleted(orderID: order, customerID: customer, total: amount), correlation: order, partition: partition)
        default:
            try log.add(PaymentAuthorized(orderID: order, authorizationID: "A\(index)", amount: amount, processor: .primary,
                                          customerID: customer, card: nil, billingName: "\(customer) \(index)", billingPhone: nil), correlation: order, partition: partition)
            try log.add(PaymentCaptured(orderID: order, amount: amount), correlation: order, partition: partition)
            try log.add(OrderCompleted(orderID: order, customerID: customer, total: amount), correlation: order, partition: partition)
            if index % 2 == 0 { try log.add(PaymentRefunded(orderID: order, amount: amount), correlation: order, partition: partition) }
        }
    }
    return log
}

@Suite("Aggregator running totals")
struct CustomerTotalsTests {
    @Test("the running totals are what a scan of the facts gives, after every event, in any interleaving of the topics, redeliveries included", arguments: [1, 2, 3])
    func equalToScan(seed: Int) async throws {
        let log = try mixedOrders(seed: UInt64(seed))
        var generator = SeededGenerator(seed: UInt64(seed) + 100)
        // Topics and partitions mix, so a payment often arrives before the order it belongs to.
        let mixed = log.interleaved(using: &generator)
        let store = try await freshStore()
        var checked = 0
        for envelope in mixed + mixed.shuffled(using: &generator) {
            try await store.apply(envelope)
            try await store.database.read { sql in
                for customer in ["bob", "alice", "carol"] {
                    let (expected, actual) = (try await scan(customer, in: sql), try await kept(customer, in: sql))
                    #expect(actual == expected, "\(customer) after \(envelope.messageType) of \(envelope.correlationID)")
                }
            }
            checked += 1
        }
        #expect(checked == 2 * log.envelopes.count)
        // Something was counted: the check above is not comparing empty tables.
        let totals = try await store.database.read { sql in
            try await ["bob", "alice", "carol"].asyncMap { try await CustomerTotals(tables: .live).statusCounts(of: $0, in: sql).values.reduce(0, +) }
        }
        #expect(totals.reduce(0, +) == 24)

        // And the profiles show them.
        _ = try await store.refreshDirty()
        for customer in ["bob", "alice", "carol"] {
            let expected = try await store.database.read { sql in try await scan(customer, in: sql) }
            guard let profile = try await store.profile(customer) else { continue }
            #expect(profile.orderCounts == expected.counts)
            #expect(profile.money.captured.minorUnits == expected.money.captured && profile.money.refunded.minorUnits == expected.money.refunded)
            #expect(profile.money.authorized.minorUnits == expected.money.authorized && profile.money.voided.minorUnits == expected.money.voided)
        }
    }

    @Test("migration 002 fills the totals from facts written before it")
    func backfilled() async throws {
        let log = try mixedOrders(seed: 7)
        let reference = try await freshStore()
        for envelope in log.envelopes { try await reference.apply(envelope) }

        // The same facts in a database that has only migration 001, copied row by row.
        let old = try await TestDatabase.open("aggregator-001", logger: .init(label: "test"))
        try await Migrator.migrate(old, [ProjectionTables.migrations[0]], logger: .init(label: "test"))
        let t = ProjectionTables.live
        let rows = try await reference.database.read { sql in
            (
                orders: try await sql.raw("SELECT order_id, customer_id, status, status_at FROM \(unsafeRaw: t.orders)").all().map {
                    (try $0.decode(column: "order_id", as: String.self), try $0.decode(column: "customer_id", as: String?.self),
                     try $0.decode(column: "status", as: String.self), try $0.decode(column: "status_at", as: String?.self))
                },
                payments: try await sql.raw("SELECT order_id, authorized_minor, captured_minor, voided_minor, refunded_minor, billing_name, authorized_at, prov FROM \(unsafeRaw: t.payments)").all().map {
                    (try $0.decode(column: "order_id", as: String.self), try $0.decode(column: "authorized_minor", as: Int64.self),
                     try $0.decode(column: "captured_minor", as: Int64.self), try $0.decode(column: "voided_minor", as: Int64.self),
                     try $0.decode(column: "refunded_minor", as: Int64.self), try $0.decode(column: "billing_name", as: String?.self),
                     try $0.decode(column: "authorized_at", as: String?.self), try $0.decode(column: "prov", as: String?.self))
                }
            )
        }
        #expect(rows.orders.count == 24)
        try await old.transaction { sql in
            for o in rows.orders {
                try await sql.raw("INSERT INTO \(unsafeRaw: t.orders) (order_id, customer_id, status, status_at) VALUES (\(bind: o.0), \(bind: o.1), \(bind: o.2), \(bind: o.3))").run()
            }
            for p in rows.payments {
                try await sql.raw("""
                INSERT INTO \(unsafeRaw: t.payments) (order_id, authorized_minor, captured_minor, voided_minor, refunded_minor, billing_name, authorized_at, prov)
                VALUES (\(bind: p.0), \(bind: p.1), \(bind: p.2), \(bind: p.3), \(bind: p.4), \(bind: p.5), \(bind: p.6), \(bind: p.7))
                """).run()
            }
        }
        try await Migrator.migrate(old, ProjectionTables.migrations, logger: .init(label: "test"))
        for customer in ["bob", "alice", "carol"] {
            let expected = try await reference.database.read { sql in try await scan(customer, in: sql) }
            #expect(try await old.read { sql in try await kept(customer, in: sql) } == expected)
            #expect(try await reference.database.read { sql in try await kept(customer, in: sql) } == expected)
        }
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
