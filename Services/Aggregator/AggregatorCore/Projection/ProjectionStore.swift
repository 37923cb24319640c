import Contracts
import Foundation
import Messaging
import SQLKit
import Storage
import Synchronization

/// The projections in the aggregator's database: applying events (with each partition's
/// position in the same transaction) and reading the views.
struct ProjectionStore: Sendable {
    let database: any Database
    let rules: MergeRules
    /// What the profile refresher decoded before (shared by every copy of the store).
    private let decoded = ProfileBuilder.DecodedColumns()

    var tables: ProjectionTables { .live }

    /// Applies one consumed event: skipped if its partition's stored position is past it
    /// (a redelivery); otherwise the facts, the position, the source's freshness, and the
    /// affected customers marked for the profile refresher change in one transaction.
    /// Inside `collecting` (a group commit) the last three are gathered and written once
    /// for the whole batch, at its end, in the same database transaction.
    /// Returns whether the event was new.
    @discardableResult
    func apply(_ envelope: Envelope) async throws -> Bool {
        if let batch = ProjectionBatch.current {
            let known = batch.positions
            let effects = try await database.transaction { sql in
                try await Self.facts([envelope], tables: .live, known: known, in: sql)
            }
            batch.add(effects)
            return effects.applied > 0
        }
        return try await database.transaction { sql in
            let effects = try await Self.facts([envelope], tables: .live, in: sql)
            try await Self.write(effects, tables: .live, markDirty: true, in: sql)
            return effects.applied > 0
        }
    }

    /// Runs `body` (a group commit's records) gathering what its events change beyond their
    /// facts, and writes that once when `body` returns, inside the same group commit. Only
    /// for a database whose batch is one transaction (`Database.groupsCommits`).
    func collecting<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let batch = ProjectionBatch()
        let result = try await ProjectionBatch.$current.withValue(batch) { try await body() }
        let effects = batch.effects
        if !effects.isEmpty {
            try await database.transaction { sql in try await Self.write(effects, tables: .live, markDirty: true, in: sql) }
        }
        return result
    }

    /// Recomputes up to `limit` marked profiles in one transaction; returns their documents.
    func refreshDirty(limit: Int = 500) async throws -> [String: String] {
        try await database.transaction { sql in
            let ids = try await sql.raw("SELECT customer_id FROM \(unsafeRaw: tables.dirty) ORDER BY customer_id LIMIT \(bind: limit)").all()
                .map { try $0.decode(column: "customer_id", as: String.self) }
            guard !ids.isEmpty else { return [:] }
            let documents = try await ProfileBuilder(tables: tables, rules: rules, decoded: decoded).refresh(Set(ids), in: sql)
            for id in ids { try await sql.raw("DELETE FROM \(unsafeRaw: tables.dirty) WHERE customer_id = \(bind: id)").run() }
            return documents
        }
    }

    /// Applies `envelopes` in order to `tables` (in the caller's transaction); returns how
    /// many were new. With `markDirty`, the customers they touched are marked for the
    /// profile refresher (a rebuild computes every profile once at its end instead).
    @discardableResult
    static func apply(_ envelopes: [Envelope], tables: ProjectionTables, markDirty: Bool = false, in sql: any SQLDatabase) async throws -> Int {
        let effects = try await facts(envelopes, tables: tables, in: sql)
        try await write(effects, tables: tables, markDirty: markDirty, in: sql)
        return effects.applied
    }

    /// Applies the facts of `envelopes` that are past their partition's position (`known`,
    /// else the stored one); returns the rest of what they change, for `write`.
    static func facts(_ envelopes: [Envelope], tables: ProjectionTables, known: [PartitionKey: Int64] = [:], in sql: any SQLDatabase) async throws -> ProjectionEffects {
        let projector = Projector(tables: tables)
        var effects = ProjectionEffects()
        for envelope in envelopes {
            guard let origin = envelope.origin else { continue }
            let key = PartitionKey(topic: origin.topic, partition: origin.partition)
            let next: Int64
            if let position = effects.positions[key] ?? known[key] {
                next = position
            } else {
                next = try await sql.raw("SELECT next_offset FROM \(unsafeRaw: tables.positions) WHERE topic = \(bind: origin.topic) AND part = \(bind: origin.partition)")
                    .first()?.decode(column: "next_offset", as: Int64.self) ?? 0
            }
            guard origin.offset >= next else { continue }
            effects.affected.formUnion(try await projector.apply(envelope, in: sql))
            effects.applied += 1
            effects.positions[key] = origin.offset + 1
            if let source = Projector.sources[envelope.messageType]?.rawValue {
                effects.saw(source, at: envelope.occurredAt)
            }
        }
        return effects
    }

    /// Writes the positions, the sources' freshness and (with `markDirty`) the dirty marks.
    static func write(_ effects: ProjectionEffects, tables: ProjectionTables, markDirty: Bool, in sql: any SQLDatabase) async throws {
        for (key, next) in effects.positions {
            try await sql.raw("""
            INSERT INTO \(unsafeRaw: tables.positions) (topic, part, next_offset) VALUES (\(bind: key.topic), \(bind: key.partition), \(bind: next))
            ON CONFLICT (topic, part) DO UPDATE SET next_offset = excluded.next_offset
            """).run()
        }
        for (source, seen) in effects.sources {
            try await sql.raw("""
            INSERT INTO \(unsafeRaw: tables.sources) (source, last_event_at, events) VALUES (\(bind: source), \(bind: StorageClock.format(seen.latest)), \(bind: seen.count))
            ON CONFLICT (source) DO UPDATE SET events = \(unsafeRaw: tables.sources).events + excluded.events,
                last_event_at = CASE WHEN excluded.last_event_at > \(unsafeRaw: tables.sources).last_event_at
                    THEN excluded.last_event_at ELSE \(unsafeRaw: tables.sources).last_event_at END
            """).run()
        }
        if markDirty {
            for id in effects.affected.sorted() { try await sql.raw("INSERT INTO \(unsafeRaw: tables.dirty) (customer_id) VALUES (\(bind: id)) ON CONFLICT DO NOTHING").run() }
        }
    }

    // MARK: - Reads

    func profileJSON(_ id: String) async throws -> String? {
        try await database.read { sql in
            try await sql.raw("SELECT document FROM \(unsafeRaw: tables.profiles) WHERE customer_id = \(bind: id)").first()?.decode(column: "document", as: String.self)
        }
    }

    func profile(_ id: String) async throws -> CustomerProfile? {
        try await profileJSON(id).map { try MessageCoding.decode(CustomerProfile.self, from: Data($0.utf8)) }
    }

    /// Profile documents, ordered by customer id.
    func profiles(tier: String?, limit: Int, offset: Int) async throws -> [CustomerProfile] {
        try await database.read { sql in
            var query = SQLQueryString("SELECT document FROM \(unsafeRaw: tables.profiles)")
            if let tier { query.appendInterpolation(unsafeRaw: " WHERE tier = "); query.appendInterpolation(bind: tier) }
            query.appendInterpolation(unsafeRaw: " ORDER BY customer_id LIMIT ")
            query.appendInterpolation(bind: limit)
            query.appendInterpolation(unsafeRaw: " OFFSET ")
            query.appendInterpolation(bind: offset)
            return try await sql.raw(query).all().map { try $0.decodeJSON(column: "document", as: CustomerProfile.self) }
        }
    }

    /// Every profile's stored JSON, by customer (tests compare a rebuild with it).
    func allProfileJSON() async throws -> [String: String] {
        try await database.read { sql in
            var result: [String: String] = [:]
            for row in try await sql.raw("SELECT customer_id, document FROM \(unsafeRaw: tables.profiles)").all() {
                result[try row.decode(column: "customer_id", as: String.self)] = try row.decode(column: "document", as: String.self)
            }
            return result
        }
    }

    func orderView(_ id: String) async throws -> OrderReadView? {
        try await database.read { sql in
            let order = try await sql.raw("SELECT * FROM \(unsafeRaw: tables.orders) WHERE order_id = \(bind: id)").first()
            let entries = try await sql.raw("SELECT * FROM \(unsafeRaw: tables.timeline) WHERE order_id = \(bind: id) ORDER BY at, message_id").all().map { row in
                OrderReadView.Entry(
                    at: MessageCoding.parseTimestamp(try row.decode(column: "at", as: String.self)) ?? .distantPast,
                    source: try row.decode(column: "source", as: String.self), type: try row.decode(column: "type", as: String.self),
                    detail: try row.decode(column: "detail", as: String?.self), messageId: try row.decode(column: "message_id", as: String.self)
                )
            }
            guard order != nil || !entries.isEmpty else { return nil }
            return OrderReadView(
                orderId: id,
                customerId: try order?.decode(column: "customer_id", as: String?.self),
                status: try order?.decode(column: "status", as: String.self) ?? "unknown",
                mode: try order?.decode(column: "mode", as: String?.self),
                total: try order?.decode(column: "total_minor", as: Int64?.self).map(Money.init(minorUnits:)),
                placedAt: try order?.decode(column: "placed_at", as: String?.self).flatMap(MessageCoding.parseTimestamp),
                finishedAt: try order?.decode(column: "finished_at", as: String?.self).flatMap(MessageCoding.parseTimestamp),
                reason: try order?.decode(column: "reason", as: String?.self),
                timeline: entries
            )
        }
    }

    func product(_ sku: String) async throws -> ProductView? {
        try await database.read { sql in
            let level = try await sql.raw("SELECT on_hand, set_at FROM \(unsafeRaw: tables.levels) WHERE sku = \(bind: sku)").first()
            let lines = try await sql.raw("""
            SELECT l.order_id, l.quantity, l.unit_price_minor, s.status, s.at FROM \(unsafeRaw: tables.orderLines) l
            JOIN \(unsafeRaw: tables.stock) s ON s.order_id = l.order_id WHERE l.sku = \(bind: sku) ORDER BY l.order_id
            """).all()
            guard level != nil || !lines.isEmpty else { return nil }
            let setAt = try level?.decode(column: "set_at", as: String.self)
            var reserved = 0, committed = 0, committedSinceSet = 0
            var revenue: Int64 = 0
            var open: [String] = []
            for row in lines {
                let quantity = try row.decode(column: "quantity", as: Int.self)
                switch try row.decode(column: "status", as: String.self) {
                case "reserved":
                    reserved += quantity
                    open.append(try row.decode(column: "order_id", as: String.self))
                case "committed":
                    committed += quantity
                    revenue += Int64(quantity) * (try row.decode(column: "unit_price_minor", as: Int64.self))
                    if let setAt, try row.decode(column: "at", as: String.self) > setAt { committedSinceSet += quantity }
                default:
                    break
                }
            }
            return ProductView(
                sku: sku, onHand: try level.map { try $0.decode(column: "on_hand", as: Int.self) - committedSinceSet },
                reserved: reserved, committed: committed, unitsSold: committed, revenue: Money(minorUnits: revenue), openReservations: open
            )
        }
    }

    func dashboard(now: Date, lowStockBelow: Int = 10) async throws -> Dashboard {
        try await database.read { sql in
            var byStatus: [String: Int] = [:]
            for row in try await sql.raw("SELECT status, COUNT(*) AS n FROM \(unsafeRaw: tables.orders) GROUP BY status ORDER BY status").all() {
                byStatus[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self)
            }
            let since = StorageClock.format(now.addingTimeInterval(-15 * 60))
            let perMinute = try await sql.raw("""
            SELECT substr(placed_at, 1, 16) AS minute, COUNT(*) AS n FROM \(unsafeRaw: tables.orders)
            WHERE placed_at >= \(bind: since) GROUP BY minute ORDER BY minute
            """).all().map { Dashboard.MinuteCount(minute: try $0.decode(column: "minute", as: String.self), orders: try $0.decode(column: "n", as: Int.self)) }
            let money = try await sql.raw("SELECT CAST(COALESCE(SUM(captured_minor), 0) AS BIGINT) AS captured, CAST(COALESCE(SUM(refunded_minor), 0) AS BIGINT) AS refunded FROM \(unsafeRaw: tables.payments)").first()
            let revenue = (try money?.decode(column: "captured", as: Int64.self) ?? 0) - (try money?.decode(column: "refunded", as: Int64.self) ?? 0)
            let top = try await sql.raw("""
            SELECT l.sku, CAST(SUM(l.quantity) AS BIGINT) AS units FROM \(unsafeRaw: tables.orderLines) l JOIN \(unsafeRaw: tables.stock) s ON s.order_id = l.order_id
            WHERE s.status = 'committed' GROUP BY l.sku ORDER BY units DESC, l.sku LIMIT 5
            """).all().map { Dashboard.SKUCount(sku: try $0.decode(column: "sku", as: String.self), units: try $0.decode(column: "units", as: Int.self)) }
            var low: [Dashboard.SKUCount] = []
            for row in try await sql.raw("SELECT sku FROM \(unsafeRaw: tables.levels) ORDER BY sku").all() {
                let sku = try row.decode(column: "sku", as: String.self)
                if let product = try await Self.productInTransaction(sku, tables: tables, sql: sql), let onHand = product.onHand, onHand - product.reserved < lowStockBelow {
                    low.append(.init(sku: sku, units: onHand - product.reserved))
                }
            }
            var share: [String: Int] = [:]
            for row in try await sql.raw("SELECT processor, COUNT(*) AS n FROM \(unsafeRaw: tables.payments) WHERE processor IS NOT NULL GROUP BY processor").all() {
                share[try row.decode(column: "processor", as: String.self)] = try row.decode(column: "n", as: Int.self)
            }
            return Dashboard(ordersPerMinute: perMinute, ordersByStatus: byStatus, revenue: Money(minorUnits: revenue), topSKUs: top, lowStock: low, processorShare: share)
        }
    }

    /// Stock of `sku` for the dashboard, inside its read.
    private static func productInTransaction(_ sku: String, tables: ProjectionTables, sql: any SQLDatabase) async throws -> ProductView? {
        guard let level = try await sql.raw("SELECT on_hand, set_at FROM \(unsafeRaw: tables.levels) WHERE sku = \(bind: sku)").first() else { return nil }
        let setAt = try level.decode(column: "set_at", as: String.self)
        let rows = try await sql.raw("""
        SELECT l.quantity, s.status, s.at FROM \(unsafeRaw: tables.orderLines) l JOIN \(unsafeRaw: tables.stock) s ON s.order_id = l.order_id WHERE l.sku = \(bind: sku)
        """).all()
        var reserved = 0, since = 0
        for row in rows {
            let quantity = try row.decode(column: "quantity", as: Int.self)
            let status = try row.decode(column: "status", as: String.self)
            if status == "reserved" { reserved += quantity }
            if status == "committed", try row.decode(column: "at", as: String.self) > setAt { since += quantity }
        }
        return ProductView(sku: sku, onHand: try level.decode(column: "on_hand", as: Int.self) - since, reserved: reserved, committed: 0, unitsSold: 0, revenue: .zero, openReservations: [])
    }

    /// Stored positions: how far each partition has been applied.
    func positions() async throws -> [String: Int64] {
        let tables = self.tables
        return try await database.read { sql in try await Self.positions(of: tables, in: sql) }
    }

    /// The positions `tables` hold, by `topic[partition]` (the partition column is a BIGINT
    /// on PostgreSQL, an INTEGER on SQLite: read as `Int` for both).
    static func positions(of tables: ProjectionTables, in sql: any SQLDatabase) async throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for row in try await sql.raw("SELECT topic, part, next_offset FROM \(unsafeRaw: tables.positions)").all() {
            result["\(try row.decode(column: "topic", as: String.self))[\(try row.decode(column: "part", as: Int.self))]"] = try row.decode(column: "next_offset", as: Int64.self)
        }
        return result
    }

    /// Each source's newest applied event time and event count.
    func sources() async throws -> [String: (lastEventAt: Date, events: Int)] {
        try await database.read { sql in
            var result: [String: (Date, Int)] = [:]
            for row in try await sql.raw("SELECT source, last_event_at, events FROM \(unsafeRaw: tables.sources)").all() {
                result[try row.decode(column: "source", as: String.self)] = (
                    MessageCoding.parseTimestamp(try row.decode(column: "last_event_at", as: String.self)) ?? .distantPast,
                    try row.decode(column: "events", as: Int.self)
                )
            }
            return result
        }
    }

    /// Whether the order's placement (or, with `finished`, its outcome) has been applied
    /// and its customer's profile recomputed since.
    func hasApplied(order: String, finished: Bool) async throws -> Bool {
        try await database.read { sql in
            guard let row = try await sql.raw("SELECT customer_id, placed_at, finished_at FROM \(unsafeRaw: tables.orders) WHERE order_id = \(bind: order)").first() else { return false }
            let applied = finished ? try row.decode(column: "finished_at", as: String?.self) != nil : try row.decode(column: "placed_at", as: String?.self) != nil
            guard applied, let customer = try row.decode(column: "customer_id", as: String?.self) else { return applied }
            return try await sql.raw("SELECT 1 AS pending FROM \(unsafeRaw: tables.dirty) WHERE customer_id = \(bind: customer)").first() == nil
        }
    }
}

/// A topic partition the projection keeps a position for.
struct PartitionKey: Hashable, Sendable {
    let topic: String
    let partition: Int32
}

/// What applying events changes beyond their facts: each partition's next position, each
/// source's latest event and count, the customers whose profile may have changed.
struct ProjectionEffects: Sendable {
    var applied = 0
    var positions: [PartitionKey: Int64] = [:]
    var sources: [String: (latest: Date, count: Int)] = [:]
    var affected: Set<String> = []

    var isEmpty: Bool { positions.isEmpty && sources.isEmpty && affected.isEmpty }

    mutating func saw(_ source: String, at occurredAt: Date, count: Int = 1) {
        let (latest, seen) = sources[source] ?? (occurredAt, 0)
        sources[source] = (max(latest, occurredAt), seen + count)
    }

    /// Adds `later`'s changes (applied after these).
    mutating func add(_ later: ProjectionEffects) {
        applied += later.applied
        positions.merge(later.positions) { _, new in new }
        for (source, seen) in later.sources { saw(source, at: seen.latest, count: seen.count) }
        affected.formUnion(later.affected)
    }
}

/// The effects gathered over one group commit (`ProjectionStore.collecting`).
final class ProjectionBatch: Sendable {
    @TaskLocal static var current: ProjectionBatch?

    private let gathered = Mutex(ProjectionEffects())

    var effects: ProjectionEffects { gathered.withLock { $0 } }
    var positions: [PartitionKey: Int64] { gathered.withLock { $0.positions } }

    func add(_ effects: ProjectionEffects) {
        gathered.withLock { $0.add(effects) }
    }
}
