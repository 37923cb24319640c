import Contracts
import Foundation
import Hummingbird
import Messaging
import SQLKit
import ServiceKit
import Storage

/// The inventory service: stock per SKU, reservations per order (all lines or none),
/// release (compensation) and commit.
public struct InventoryService: Participant {
    public let name = ServiceName.inventory
    public let defaultHTTPPort = 8083
    public var migrations: [Migration] { [StockStore.migration, Withdrawals.migration] }

    public init() {}

    /// The demo stock every install starts with.
    public static let demoStock: [StockLevel] = [
        StockLevel(sku: "SKU-COFFEE", onHand: 100),
        StockLevel(sku: "SKU-MUG", onHand: 50),
        StockLevel(sku: "SKU-RARE", onHand: 1),
    ]

    public func commands(_ context: ParticipantContext, router: inout MessageRouter) {
        context.handle(ReserveStock.self, in: &router) { command, _, sql in
            try await Self.reserve(command, in: sql)
        }
        context.handle(ReleaseStock.self, in: &router) { command, _, sql in
            .replyAndPublish(try await Self.release(order: command.orderID, in: sql))
        }
        context.handle(CommitStock.self, in: &router) { command, _, sql in
            guard let committed = try await Self.commit(order: command.orderID, in: sql) else {
                throw CommandRefused.refused("order \(command.orderID) has no reservation to commit")
            }
            return .replyAndPublish(committed)
        }
    }

    public func reactions(_ context: ParticipantContext, router: inout MessageRouter) {
        context.react(CustomerVerified.self, in: &router) { verified, _, sql in
            guard let order = verified.order else { throw MessageRejection("a choreographed customer-verified event carries the order") }
            // A payment that failed first withdrew the order: nothing to reserve.
            if try await Withdrawals.isWithdrawn(order: order.orderID, in: sql) { return [] }
            do {
                return try await Self.reserve(ReserveStock(orderID: order.orderID, lines: order.lines), in: sql).published
            } catch let refusal as CommandRefused {
                return [StockReservationFailed(orderID: order.orderID, shortSKUs: [], reason: refusal.reason)]
            }
        }
        context.react(ShipmentScheduled.self, in: &router) { scheduled, _, sql in
            guard let committed = try await Self.commit(order: scheduled.orderID, in: sql) else {
                throw MessageRejection("order \(scheduled.orderID) was scheduled for shipment without a reservation here")
            }
            return [committed]
        }
        // Every failure answers with `stock-released`, empty when nothing was reserved, so
        // the tracker knows inventory is done with the order.
        let release: @Sendable (String, String, any SQLDatabase) async throws -> ReactionOutcome = { order, reason, sql in
            try await Withdrawals.withdraw(order: order, reason: reason, in: sql)
            return [try await Self.release(order: order, in: sql)]
        }
        context.react(PaymentDeclined.self, in: &router) { event, _, sql in try await release(event.orderID, "payment declined", sql) }
        context.react(PaymentFailed.self, in: &router) { event, _, sql in try await release(event.orderID, "payment failed", sql) }
        context.react(ShipmentRefused.self, in: &router) { event, _, sql in try await release(event.orderID, "shipment refused", sql) }
    }

    /// Releases what `order` holds (nothing, when it holds nothing).
    static func release(order: String, in sql: any SQLDatabase) async throws -> StockReleased {
        var released: [StockQuantity] = []
        for reservation in try await StockStore.reservations(order: order, in: sql) where reservation.status == .reserved {
            let quantity = StockQuantity(sku: reservation.sku, quantity: reservation.quantity)
            try await StockStore.adjust(reservation.sku, reserved: -reservation.quantity, in: sql)
            try await StockStore.saveReservation(order: order, quantity, status: .released, in: sql)
            released.append(quantity)
        }
        return StockReleased(orderID: order, lines: released)
    }

    /// Turns `order`'s reservation into a sale; nil when it has none.
    static func commit(order: String, in sql: any SQLDatabase) async throws -> StockCommitted? {
        let active = try await StockStore.reservations(order: order, in: sql).filter { $0.status != .released }
        guard !active.isEmpty else { return nil }
        var committed: [StockQuantity] = []
        for reservation in active {
            let quantity = StockQuantity(sku: reservation.sku, quantity: reservation.quantity)
            if reservation.status == .reserved {
                try await StockStore.adjust(reservation.sku, onHand: -reservation.quantity, reserved: -reservation.quantity, in: sql)
                try await StockStore.saveReservation(order: order, quantity, status: .committed, in: sql)
            }
            committed.append(quantity)
        }
        return StockCommitted(orderID: order, lines: committed)
    }

    static func reserve(_ command: ReserveStock, in sql: any SQLDatabase) async throws -> CommandOutcome {
        if let problem = InventoryRules.problem(with: command.lines) {
            throw CommandRefused.invalid("order \(command.orderID): \(problem)")
        }
        // Reservations are per order: asking again for an order that holds its stock changes nothing.
        let existing = try await StockStore.reservations(order: command.orderID, in: sql)
        if !existing.isEmpty, existing.allSatisfy({ $0.status != .released }) {
            return .replyAndPublish(StockReserved(orderID: command.orderID))
        }
        let demand = InventoryRules.demand(command.lines)
        var stock: [String: StockLevel] = [:]
        for wanted in demand {
            stock[wanted.sku] = try await StockStore.level(wanted.sku, in: sql)
        }
        let short = InventoryRules.shortSKUs(demand: demand, stock: stock)
        guard short.isEmpty else {
            return .replyAndPublish(StockReservationFailed(orderID: command.orderID, shortSKUs: short))
        }
        for wanted in demand {
            try await StockStore.adjust(wanted.sku, reserved: wanted.quantity, in: sql)
            try await StockStore.saveReservation(order: command.orderID, wanted, status: .reserved, in: sql)
        }
        return .replyAndPublish(StockReserved(orderID: command.orderID))
    }

    /// Stocks the demo SKUs in a new database, each with its `stock-level-set` event.
    public func seed(_ context: ParticipantContext) async throws {
        guard try await context.database.read({ try await StockStore.count(in: $0) }) == 0 else { return }
        for level in Self.demoStock {
            let _: Bool = try await context.executor.change(correlationID: { _ in level.sku }) { sql in
                guard try await StockStore.level(level.sku, in: sql) == nil else { return (false, []) }
                try await StockStore.set(level.sku, onHand: level.onHand, in: sql)
                return (true, [StockLevelSet(sku: level.sku, onHand: level.onHand)])
            }
        }
    }

    struct SetStock: Codable {
        var onHand: Int
    }

    public func routes(_ context: ParticipantContext, routes: ServiceRoutes) {
        let database = context.database
        let executor = context.executor
        routes.get("stock", scope: .inventoryRead) { _, _ -> Response in
            try ServiceHTTPServer.jsonResponse(.ok, try await database.read { try await StockStore.levels(in: $0) })
        }
        routes.get("stock/:sku", scope: .inventoryRead) { _, context -> Response in
            let sku = try context.parameters.decoded("sku")
            guard let level = try await database.read({ try await StockStore.level(sku, in: $0) }) else {
                throw APIError.notFound("SKU '\(sku)' is not stocked")
            }
            return try ServiceHTTPServer.jsonResponse(.ok, level)
        }
        routes.put("stock/:sku", scope: .inventoryWrite) { request, context -> Response in
            let sku = try context.parameters.decoded("sku")
            let body = try await request.decodeJSON(SetStock.self, context: context)
            guard body.onHand >= 0 else { throw APIError.badRequest("onHand must not be negative", code: "invalid-stock") }
            guard (1...64).contains(TextRule.length(sku)) else { throw APIError.badRequest("sku must be 1-64 characters", code: "invalid-stock") }
            let level: StockLevel = try await executor.change(correlationID: { _ in sku }) { sql in
                if let current = try await StockStore.level(sku, in: sql), current.reserved > body.onHand {
                    throw APIError(.conflict, code: "stock-reserved", message: "\(current.reserved) of \(sku) are reserved; onHand cannot go below that")
                }
                try await StockStore.set(sku, onHand: body.onHand, in: sql)
                return (try await StockStore.level(sku, in: sql)!, [StockLevelSet(sku: sku, onHand: body.onHand)])
            }
            return try ServiceHTTPServer.jsonResponse(.ok, level)
        }
        routes.get("reservations", scope: .inventoryRead) { request, _ -> Response in
            let order = try request.requiredQuery("orderId")
            return try ServiceHTTPServer.jsonResponse(.ok, try await database.read { try await StockStore.reservations(order: order, in: $0) })
        }
    }
}
