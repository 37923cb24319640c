import Configuration
import Contracts
import Foundation
import Hummingbird
import Logging
import Messaging
import SQLKit
import ServiceKit
import ServiceLifecycle
import Storage

/// The shipping service: schedules shipments with a carrier, tracking number, label and
/// fee; cancels them (compensation).
public struct ShippingService: Participant {
    public let name = ServiceName.shipping
    public let defaultHTTPPort = 8084
    public var migrations: [Migration] { [ShipmentStore.migration, CheckoutJoinStore.migration, CheckoutJoinStore.traceMigration] }
    /// How long a choreographed order may wait for its three events before shipping
    /// refuses it (and inventory and payment undo what they did).
    public let checkoutDeadline: Duration

    public static let defaultCheckoutDeadline = Duration.seconds(30)

    public init(checkoutDeadline: Duration = Self.defaultCheckoutDeadline) {
        self.checkoutDeadline = checkoutDeadline
    }

    /// Reads `SHIPPING_CHECKOUT_DEADLINE` (seconds, e.g. `30` or `2.5`).
    public init(reader: ConfigReader) throws(ServiceKitError) {
        guard let text = reader.string(forKey: "shipping.checkout.deadline") else {
            self.init()
            return
        }
        guard let seconds = Double(text), seconds > 0, seconds <= 3600 else {
            throw .invalid("SHIPPING_CHECKOUT_DEADLINE", text, expected: "seconds between 0 and 3600, like 30")
        }
        self.init(checkoutDeadline: .milliseconds(Int64(seconds * 1000)))
    }

    public func commands(_ context: ParticipantContext, router: inout MessageRouter) {
        context.handle(ScheduleShipment.self, in: &router) { command, _, sql in
            .replyAndPublish(try await Self.schedule(command, in: sql))
        }
        context.handle(CancelShipment.self, in: &router) { command, _, sql in
            if var shipment = try await ShipmentStore.shipment(order: command.orderID, in: sql), shipment.status != .cancelled {
                shipment.status = .cancelled
                try await ShipmentStore.save(shipment, in: sql)
            }
            return .replyAndPublish(ShipmentCancelled(orderID: command.orderID))
        }
    }

    /// Schedules `command`'s shipment, or answers with the one scheduled before.
    static func schedule(_ command: ScheduleShipment, in sql: any SQLDatabase) async throws -> ShipmentScheduled {
        if let existing = try await ShipmentStore.shipment(order: command.orderID, in: sql) {
            guard existing.status == .scheduled else {
                throw CommandRefused.refused("order \(command.orderID)'s shipment was cancelled; it is not scheduled again")
            }
            return Self.scheduled(existing)
        }
        let shipment = ShipmentStore.Shipment(
            orderID: command.orderID,
            carrier: ShippingRules.carrier(priority: command.priority),
            trackingNumber: ShippingRules.trackingNumber(),
            labelReference: ShippingRules.labelReference(orderID: command.orderID),
            fee: ShippingRules.fee(priority: command.priority, free: command.free),
            priority: command.priority,
            status: .scheduled,
            shipTo: command.shipTo
        )
        try await ShipmentStore.save(shipment, in: sql)
        return Self.scheduled(shipment)
    }

    // MARK: Choreography

    public func reactions(_ context: ParticipantContext, router: inout MessageRouter) {
        let deadline = checkoutDeadline
        /// Applies `change` to the order's join if it still waits, and schedules the
        /// shipment once the join is complete: the premium rule is decided here.
        let join: @Sendable (String, Envelope, any SQLDatabase, (inout CheckoutJoinStore.Join) -> Void) async throws -> ReactionOutcome = { order, envelope, sql, change in
            var join = try await CheckoutJoinStore.join(order: order, in: sql)
                ?? CheckoutJoinStore.Join(orderID: order, state: .waiting, deadline: StorageClock.format(Date().addingTimeInterval(deadline.seconds)))
            guard join.state == .waiting else { return [] }
            join.traceparent = join.traceparent ?? envelope.traceparent
            change(&join)
            var emitted: ReactionOutcome = []
            if join.state == .waiting, join.isComplete, let shipTo = join.shipTo, let tier = join.tier, let total = join.total {
                let perk = ShippingRules.premiumPerk(tier: tier, total: total)
                emitted = [try await Self.schedule(ScheduleShipment(orderID: order, shipTo: shipTo, priority: perk, free: perk), in: sql)]
                join.state = .scheduled
            }
            try await CheckoutJoinStore.save(join, in: sql)
            return emitted
        }
        context.react(OrderPlaced.self, in: &router) { placed, envelope, sql in try await join(placed.orderID, envelope, sql) { _ in } }
        context.react(CustomerVerified.self, in: &router) { verified, envelope, sql in
            guard let order = verified.order else { throw MessageRejection("a choreographed customer-verified event carries the order") }
            return try await join(order.orderID, envelope, sql) {
                $0.verified = true
                $0.tier = verified.tier
                $0.total = order.total
                $0.shipTo = order.shipTo
            }
        }
        context.react(StockReserved.self, in: &router) { event, envelope, sql in try await join(event.orderID, envelope, sql) { $0.reserved = true } }
        context.react(PaymentAuthorized.self, in: &router) { event, envelope, sql in try await join(event.orderID, envelope, sql) { $0.authorized = true } }
        let close: @Sendable (String, String, Envelope, any SQLDatabase) async throws -> ReactionOutcome = { order, reason, envelope, sql in
            try await join(order, envelope, sql) {
                $0.state = .closed
                $0.reason = reason
            }
        }
        context.react(CustomerRejected.self, in: &router) { event, envelope, sql in try await close(envelope.correlationID, "customer \(event.reason.rawValue)", envelope, sql) }
        context.react(StockReservationFailed.self, in: &router) { event, envelope, sql in try await close(event.orderID, "stock short", envelope, sql) }
        context.react(PaymentDeclined.self, in: &router) { event, envelope, sql in try await close(event.orderID, "payment declined", envelope, sql) }
        context.react(PaymentFailed.self, in: &router) { event, envelope, sql in try await close(event.orderID, "payment failed", envelope, sql) }
    }

    public func background(_ context: ParticipantContext) -> [any Service] {
        [CheckoutDeadlines(executor: context.executor, database: context.database, deadline: checkoutDeadline, logger: context.logger)]
    }

    static func scheduled(_ shipment: ShipmentStore.Shipment) -> ShipmentScheduled {
        ShipmentScheduled(
            orderID: shipment.orderID, carrier: shipment.carrier, trackingNumber: shipment.trackingNumber,
            labelReference: shipment.labelReference, fee: shipment.fee, priority: shipment.priority
        )
    }

    public func seed(_ context: ParticipantContext) async throws {}

    public func routes(_ context: ParticipantContext, routes: ServiceRoutes) {
        let database = context.database
        routes.get("joins/:order", scope: .shipmentsRead) { _, context -> Response in
            let order = try context.parameters.decoded("order")
            guard let join = try await database.read({ try await CheckoutJoinStore.join(order: order, in: $0) }) else {
                throw APIError.notFound("shipping has no choreographed order '\(order)'")
            }
            return try ServiceHTTPServer.jsonResponse(.ok, JoinView(join))
        }
        routes.get("shipments", scope: .shipmentsRead) { request, _ -> Response in
            let order = try request.requiredQuery("orderId")
            let shipments = try await database.read { sql in
                try await ShipmentStore.shipment(order: order, in: sql).map { [$0] } ?? []
            }
            return try ServiceHTTPServer.jsonResponse(.ok, shipments)
        }
    }
}

/// `GET /joins/{order}`: shipping's join for a choreographed order.
struct JoinView: Codable {
    var orderId: String
    var state: String
    var deadline: String
    var waitingFor: [String]
    var reason: String?

    init(_ join: CheckoutJoinStore.Join) {
        orderId = join.orderID
        state = join.state.rawValue
        deadline = join.deadline
        waitingFor = join.state == .waiting ? join.missing : []
        reason = join.reason
    }
}

/// Shipping's deadline for the choreographed checkout: refuses every join still waiting
/// when its deadline passes, publishing `shipment-refused` in the same transaction, so
/// the order can never be scheduled afterwards. At start every waiting join gets the full
/// deadline again: shipping's own downtime is not the other services' fault.
struct CheckoutDeadlines: Service {
    let executor: CommandExecutor
    let database: any Database
    let deadline: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            do {
                try await database.transaction { try await CheckoutJoinStore.extendWaiting(until: Date().addingTimeInterval(deadline.seconds), in: $0) }
            } catch {
                logger.error("extending the waiting joins' deadlines failed", metadata: [LogKey.error: "\(error)"])
            }
            while !Task.isCancelled {
                var wait = Duration.seconds(1)
                do {
                    try await refuseExpired()
                    if let next = try await database.read({ try await CheckoutJoinStore.earliestDeadline(in: $0) }),
                       let date = StorageClock.parse(next) {
                        wait = .milliseconds(Int64(max(0, min(1, date.timeIntervalSinceNow)) * 1000) + 1)
                    }
                } catch {
                    logger.error("refusing expired joins failed; retrying", metadata: [LogKey.error: "\(error)"])
                }
                try? await Task.sleep(for: wait)
            }
        }
    }

    func refuseExpired() async throws {
        let expired = try await database.read { try await CheckoutJoinStore.expired(now: Date(), limit: 100, in: $0) }
        for order in expired {
            let refused: Bool = try await executor.change(correlationID: { _ in order }, flow: ChoreographyCatalog.flow) { sql in
                guard var join = try await CheckoutJoinStore.join(order: order, in: sql), join.state == .waiting else { return (false, [], nil) }
                let reason = "no \(join.missing.joined(separator: ", ")) within the deadline"
                join.state = .refused
                join.reason = reason
                try await CheckoutJoinStore.save(join, in: sql)
                return (true, [ShipmentRefused(orderID: order, reason: reason, waitingFor: join.missing)], join.traceparent)
            }
            if refused {
                logger.warning("choreographed order refused at its deadline", metadata: [LogKey.orderID: "\(order)"])
            }
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
