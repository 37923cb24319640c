import AggregatorCore
import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import SQLKit
import Storage

/// One order the chaos run placed.
struct ChaosOrder: Sendable, Codable {
    var id: String
    var kind: OrderKind
    var mode: CheckoutMode
}

/// A property of the whole system that did not hold, with what showed it.
struct Violation: Sendable, Codable, Hashable {
    var rule: String
    var detail: String
}

/// What the services' own databases and the broker say after a run, read once the stack
/// is quiet: each order's state, each service's payments, stock, shipments and outbox,
/// each consumer group's lag, each dead-letter topic's size.
struct SystemState: Sendable {
    var statuses: [String: String] = [:]
    var paymentStatus: [String: String] = [:]
    var captures: [String: Int] = [:]
    var stock: [String: (onHand: Int, reserved: Int)] = [:]
    var reservations: [(order: String, sku: String, quantity: Int, status: String)] = []
    var shipments: [String: String] = [:]
    var outboxes: [String: Int] = [:]
    /// Customers the aggregator has marked for a profile refresh and not refreshed yet: its
    /// consumer can be caught up (lag 0) up to a second before its refresher has run.
    var profilesToRefresh = 0
    var lag: [String: Int64] = [:]
    var deadLetters: [String: Int64] = [:]

    /// Terminal states of either mode.
    static let terminal: Set<String> = ["completed", "compensated", "failed", "needs-attention"]

    var unfinished: Int { statuses.values.filter { !Self.terminal.contains($0) }.count }
    var quiet: Bool { outboxes.values.allSatisfy { $0 == 0 } && lag.values.allSatisfy { $0 == 0 } && profilesToRefresh == 0 }
}

/// Reads `SystemState` from a chaos stack.
struct SystemReader: Sendable {
    let stack: ChaosStack
    let skus: [String]
    let logger: Logger

    /// The consumer groups of the stack (without a prefix).
    static var groups: [String] {
        ["ensemble-orchestrator", "ensemble-orchestrator-choreography", "ensemble-aggregator"]
            + ServiceName.participants.map { "ensemble-\($0)" }
    }

    func open(_ service: ServiceName) async throws -> any Database {
        try await SQLiteStore.open(path: stack.databasePath(service), logger: logger)
    }

    /// Order states only (what the wait for quiescence polls).
    func statuses(of orders: [ChaosOrder]) async throws -> [String: String] {
        let database = try await open(.orchestrator)
        let rows = try await database.read { sql in
            let sagas = try await sql.raw("SELECT id, status FROM sagas").all().map {
                (try $0.decode(column: "id", as: String.self), try $0.decode(column: "status", as: String.self))
            }
            let choreographed = try await sql.raw("SELECT order_id, status FROM choreographed_orders").all().map {
                (try $0.decode(column: "order_id", as: String.self), try $0.decode(column: "status", as: String.self))
            }
            return sagas + choreographed
        }
        try? await database.close()
        let known = Dictionary(rows, uniquingKeysWith: { first, _ in first })
        return Dictionary(uniqueKeysWithValues: orders.map { ($0.id, known[$0.id] ?? "missing") })
    }

    func read(_ orders: [ChaosOrder], admin: KafkaAdmin) async throws -> SystemState {
        var state = SystemState()
        state.statuses = try await statuses(of: orders)

        let payment = try await open(.payment)
        (state.paymentStatus, state.captures) = try await payment.read { sql in
            let statuses = try await sql.raw("SELECT order_id, status FROM payments").all().map {
                (try $0.decode(column: "order_id", as: String.self), try $0.decode(column: "status", as: String.self))
            }
            let captures = try await sql.raw("SELECT order_id, COUNT(*) AS n FROM ledger WHERE entry = 'capture' GROUP BY order_id").all().map {
                (try $0.decode(column: "order_id", as: String.self), try $0.decode(column: "n", as: Int.self))
            }
            return (Dictionary(statuses, uniquingKeysWith: { first, _ in first }), Dictionary(captures, uniquingKeysWith: +))
        }
        try? await payment.close()

        let inventory = try await open(.inventory)
        let skus = self.skus
        (state.stock, state.reservations) = try await inventory.read { sql in
            var stock: [String: (onHand: Int, reserved: Int)] = [:]
            for row in try await sql.raw("SELECT sku, on_hand, reserved FROM stock").all() {
                let sku = try row.decode(column: "sku", as: String.self)
                guard skus.contains(sku) else { continue }
                stock[sku] = (try row.decode(column: "on_hand", as: Int.self), try row.decode(column: "reserved", as: Int.self))
            }
            let reservations = try await sql.raw("SELECT order_id, sku, quantity, status FROM reservations").all().map {
                (order: try $0.decode(column: "order_id", as: String.self), sku: try $0.decode(column: "sku", as: String.self),
                 quantity: try $0.decode(column: "quantity", as: Int.self), status: try $0.decode(column: "status", as: String.self))
            }.filter { skus.contains($0.sku) }
            return (stock, reservations)
        }
        try? await inventory.close()

        let shipping = try await open(.shipping)
        state.shipments = try await shipping.read { sql in
            Dictionary(try await sql.raw("SELECT order_id, status FROM shipments").all().map {
                (try $0.decode(column: "order_id", as: String.self), try $0.decode(column: "status", as: String.self))
            }, uniquingKeysWith: { first, _ in first })
        }
        try? await shipping.close()

        state.outboxes = try await outboxes()
        let aggregator = try await open(.aggregator)
        state.profilesToRefresh = try await aggregator.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: ProjectionTables.live.dirty)").first()?.decode(column: "n", as: Int.self) ?? 0
        }
        try? await aggregator.close()
        (state.lag, state.deadLetters) = try await kafka(admin)
        return state
    }

    /// Rows waiting in each service's outbox.
    func outboxes() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for (name, _) in ProcessStack.services {
            let database = try await open(name)
            counts[name.rawValue] = try await database.read { try await Outbox.count(in: $0) }
            try? await database.close()
        }
        return counts
    }

    /// Messages each consumer group has not committed yet, and the size of each dead-letter topic.
    func kafka(_ admin: KafkaAdmin) async throws -> (lag: [String: Int64], deadLetters: [String: Int64]) {
        let ends = try await admin.highWatermarks(TopicCatalog.allTopics, timeout: .seconds(10))
        var lag: [String: Int64] = [:]
        for group in Self.groups {
            let committed = try await admin.committedOffsets(group: group, timeout: .seconds(10))
            lag[group] = committed.reduce(0) { total, entry in total + max(0, (ends[entry.key] ?? 0) - entry.value) }
        }
        var deadLetters: [String: Int64] = [:]
        for topic in TopicCatalog.primaryTopics.map(TopicCatalog.deadLetter) {
            let size = ends.filter { $0.key.topic == topic }.values.reduce(0, +)
            if size > 0 { deadLetters[topic] = size }
        }
        return (lag, deadLetters)
    }
}

/// The rules a run must keep, checked against the state after it.
enum ChaosRules {
    static func violations(orders: [ChaosOrder], initialStock: [String: Int], state: SystemState) -> [Violation] {
        var found: [Violation] = []
        func fail(_ rule: String, _ detail: String) { found.append(Violation(rule: rule, detail: detail)) }

        for order in orders {
            let status = state.statuses[order.id] ?? "missing"
            let completed = status == "completed"
            if !SystemState.terminal.contains(status) { fail("every order terminal", "\(order.id) (\(order.mode.rawValue)) is \(status)") }
            // Payments.
            let captures = state.captures[order.id] ?? 0
            let payment = state.paymentStatus[order.id]
            if captures > 1 { fail("no payment captured twice", "\(order.id): \(captures) captures") }
            if completed, payment != "captured" || captures != 1 {
                fail("every completed order captured once", "\(order.id): payment \(payment ?? "none"), \(captures) captures")
            }
            if !completed, payment == "captured" { fail("no capture for an order that did not complete", "\(order.id) is \(status), its payment captured") }
            if payment == "authorized" { fail("every authorization captured or voided", "\(order.id) is \(status), its payment still authorized") }
            // Stock.
            let mine = state.reservations.filter { $0.order == order.id }
            for reservation in mine where reservation.status == "reserved" {
                fail("no reservation left for a terminal order", "\(order.id) is \(status), \(reservation.quantity) × \(reservation.sku) still reserved")
            }
            if !completed, mine.contains(where: { $0.status == "committed" }) {
                fail("no stock taken for an order that did not complete", "\(order.id) is \(status), its reservation committed")
            }
            if completed, !mine.contains(where: { $0.status == "committed" }) {
                fail("stock taken for every completed order", "\(order.id) completed, no committed reservation")
            }
            // Shipments.
            let shipment = state.shipments[order.id]
            if completed, shipment != "scheduled" { fail("one shipment per completed order", "\(order.id) completed, shipment \(shipment ?? "none")") }
            if !completed, shipment == "scheduled" { fail("no shipment for an order that did not complete", "\(order.id) is \(status), shipment scheduled") }
        }
        for (sku, initial) in initialStock.sorted(by: { $0.key < $1.key }) {
            let level = state.stock[sku] ?? (0, 0)
            let reserved = state.reservations.filter { $0.sku == sku && $0.status == "reserved" }.map(\.quantity).reduce(0, +)
            let committed = state.reservations.filter { $0.sku == sku && $0.status == "committed" }.map(\.quantity).reduce(0, +)
            if initial != level.onHand + level.reserved + committed {
                fail("stock conserved", "\(sku): initial \(initial) ≠ on hand \(level.onHand) + reserved \(level.reserved) + committed \(committed)")
            }
            if level.reserved != reserved { fail("stock conserved", "\(sku): \(level.reserved) counted reserved, reservations hold \(reserved)") }
        }
        for (service, count) in state.outboxes.sorted(by: { $0.key < $1.key }) where count > 0 {
            fail("every outbox empty", "\(service): \(count) rows")
        }
        for (group, lag) in state.lag.sorted(by: { $0.key < $1.key }) where lag > 0 {
            fail("consumer lag zero", "\(group): \(lag) messages")
        }
        if state.profilesToRefresh > 0 {
            fail("every profile refreshed", "\(state.profilesToRefresh) customers still marked for the aggregator's refresher")
        }
        for (topic, size) in state.deadLetters.sorted(by: { $0.key < $1.key }) {
            fail("dead-letter topics empty", "\(topic): \(size) messages")
        }
        return found
    }
}
