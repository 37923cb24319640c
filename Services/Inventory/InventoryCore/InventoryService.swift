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
    public var migrations: [Migration] { [StockStore.migration] }

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
            var released: [StockQuantity] = []
            for reservation in try await StockStore.reservations(order: command.orderID, in: sql) where reservation.status == .reserved {
                let quantity = StockQuantity(sku: reservation.sku, quantity: reservation.quantity)
                try await StockStore.adjust(reservation.sku, reserved: -reservation.quantity, in: sql)
                try await StockStore.saveReservation(order: command.orderID, quantity, status: .released, in: sql)
                released.append(quantity)
            }
            return .replyAndPublish(StockReleased(orderID: command.orderID, lines: released))
        }
        context.handle(CommitStock.self, in: &router) { command, _, sql in
            let reservations = try await StockStore.reservations(order: command.orderID, in: sql)
            let active = reservations.filter { $0.status != .released }
            guard !active.isEmpty else {
                throw CommandRefused.refused("order \(command.orderID) has no reservation to commit")
            }
            var committed: [StockQuantity] = []
            for reservation in active {
                let quantity = StockQuantity(sku: reservation.sku, quantity: reservation.quantity)
                if reservation.status == .reserved {
                    try await StockStore.adjust(reservation.sku, onHand: -reservation.quantity, reserved: -reservation.quantity, in: sql)
                    try await StockStore.saveReservation(order: command.orderID, quantity, status: .committed, in: sql)
                }
                committed.append(quantity)
            }
            return .replyAndPublish(StockCommitted(orderID: command.orderID, lines: committed))
        }
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

    public func routes(_ context: ParticipantContext, router: Router<BasicRequestContext>) {
        let database = context.database
        let executor = context.executor
        router.get("stock") { _, _ -> Response in
            try ServiceHTTPServer.jsonResponse(.ok, try await database.read { try await StockStore.levels(in: $0) })
        }
        router.get("stock/:sku") { _, context -> Response in
            let sku = try context.parameters.require("sku")
            guard let level = try await database.read({ try await StockStore.level(sku, in: $0) }) else {
                throw APIError.notFound("SKU '\(sku)' is not stocked")
            }
            return try ServiceHTTPServer.jsonResponse(.ok, level)
        }
        router.put("stock/:sku") { request, context -> Response in
            let sku = try context.parameters.require("sku")
            let body = try await request.decodeJSON(SetStock.self, context: context)
            guard body.onHand >= 0 else { throw APIError.badRequest("onHand must not be negative", code: "invalid-stock") }
            guard !sku.isEmpty, sku.count <= 64 else { throw APIError.badRequest("sku must be 1-64 characters", code: "invalid-stock") }
            let level: StockLevel = try await executor.change(correlationID: { _ in sku }) { sql in
                if let current = try await StockStore.level(sku, in: sql), current.reserved > body.onHand {
                    throw APIError(.conflict, code: "stock-reserved", message: "\(current.reserved) of \(sku) are reserved; onHand cannot go below that")
                }
                try await StockStore.set(sku, onHand: body.onHand, in: sql)
                return (try await StockStore.level(sku, in: sql)!, [StockLevelSet(sku: sku, onHand: body.onHand)])
            }
            return try ServiceHTTPServer.jsonResponse(.ok, level)
        }
        router.get("reservations") { request, _ -> Response in
            let order = try request.requiredQuery("orderId")
            return try ServiceHTTPServer.jsonResponse(.ok, try await database.read { try await StockStore.reservations(order: order, in: $0) })
        }
    }
}
