import Contracts
import Foundation
import Logging
import Messaging
import SQLKit
import Storage

/// The intake's side of the choreographed checkout. Placing an order only announces it
/// (`order-placed` with the order's data and the `flow` header, on
/// `orders.events.choreography`); no command is sent. The tracker then follows the
/// participants' events for the order (on their `.events.choreography` topics) and, by the
/// declared rules, publishes `order-completed` or `order-failed` on `orders.events`: the
/// same outcome events, on the same topic, as an orchestrated order's. It decides nothing
/// for the participants; the deadline of a stuck order is shipping's.
public struct ChoreographyTracker: Sendable {
    public let database: any Database
    let relay: OutboxRelay
    let topics: TopicNames
    let logger: Logger

    public init(database: any Database, relay: OutboxRelay, topics: TopicNames, logger: Logger) {
        self.database = database
        self.relay = relay
        self.topics = topics
        self.logger = logger
    }

    /// The event sources the tracker reads.
    public static let sources: [ServiceName] = [.profile, .inventory, .payment, .shipping]

    /// Announces a choreographed order; returns its id and whether it is new (an
    /// `Idempotency-Key` seen before returns the order it placed).
    public func place(_ request: OrderRequest, idempotencyKey: String?, traceparent: String? = nil) async throws -> (orderID: String, created: Bool) {
        let orderID = OrderRequest.newOrderID()
        let order = ChoreographedOrder(
            orderID: orderID, customerID: request.customerID, lines: request.lines, shipTo: request.shipTo,
            card: PaymentCard(request.payment.card.filter { $0 != " " }), billingName: request.payment.billingName, billingPhone: request.payment.billingPhone
        )
        let placed = OrderPlaced(orderID: orderID, customerID: request.customerID, lines: request.lines, shipTo: request.shipTo, mode: CheckoutMode.choreography.rawValue, choreography: order)
        // The order's trace: the caller's, or a new one; every reaction continues it.
        let trace = Envelope.continuing(traceparent)
        let envelope = try Envelope(placed, correlationID: orderID, traceparent: Envelope.childTraceparent(of: trace), flow: ChoreographyCatalog.flow)
        let topic = topics.choreographyEvents(.orders)
        let result = try await database.transaction { sql -> (String, Bool) in
            if let key = idempotencyKey, let existing = try await SagaStore.order(forKey: key, in: sql) {
                return (existing, false)
            }
            var progress = ChoreographyProgress()
            _ = progress.apply(OrderPlaced.messageType)
            let entry = ChoreographedOrderView.Entry(at: envelope.occurredAt, source: .orders, event: OrderPlaced.messageType, detail: "\(request.lines.count) lines, \(request.total)")
            try await ChoreographyStore.insert(.init(
                orderID: orderID, customerID: request.customerID, total: request.total, progress: progress, timeline: [entry], createdAt: envelope.occurredAt,
                traceparent: trace
            ), in: sql)
            if let key = idempotencyKey { try await SagaStore.remember(key: key, order: orderID, in: sql) }
            try await Outbox.add([OutboxMessage(envelope, topic: topic)], in: sql)
            return (orderID, true)
        }
        if result.1 { relay.wake() }
        return result
    }

    /// Applies one participant event of a choreographed order; an event seen before, or
    /// of an order the tracker does not know, changes nothing.
    public func apply(_ envelope: Envelope) async throws {
        guard envelope.flow == ChoreographyCatalog.flow, let source = EventCatalog.type(named: envelope.messageType)?.source else { return }
        let (detail, reason) = try Self.describe(envelope)
        let topic = topics.events(.orders)
        let finished = try await database.transaction { sql -> ChoreographyProgress.Finish? in
            guard try await Inbox.recordIfNew(envelope, in: sql) else { return nil }
            guard var record = try await ChoreographyStore.record(envelope.correlationID, in: sql) else { return nil }
            record.timeline.append(.init(at: envelope.occurredAt, source: source, event: envelope.messageType, detail: detail))
            let finish = record.progress.apply(envelope.messageType, reason: reason)
            if let finish {
                record.finishedAt = Date()
                let outcome: any MessageContract = switch finish {
                case .completed:
                    OrderCompleted(orderID: record.orderID, customerID: record.customerID, total: record.total,
                                   consistencyToken: ConsistencyToken(orderID: record.orderID, stage: .finished).text)
                case .failed(let status, let reason):
                    OrderFailed(orderID: record.orderID, customerID: record.customerID, status: status.rawValue, reason: reason,
                                consistencyToken: ConsistencyToken(orderID: record.orderID, stage: .finished).text)
                }
                try await Outbox.add([OutboxMessage(try envelope.reaction(outcome), topic: topic)], in: sql)
            }
            try await ChoreographyStore.update(record, in: sql)
            return finish
        }
        if let finished {
            relay.wake()
            logger.info("choreographed order finished", metadata: [LogKey.orderID: "\(envelope.correlationID)", LogKey.status: "\(finished)"])
        }
    }

    public func view(_ orderID: String) async throws -> ChoreographedOrderView? {
        try await database.read { try await ChoreographyStore.record(orderID, in: $0) }.map(ChoreographedOrderView.init)
    }

    /// A timeline line for `envelope`, and the failure reason when it is a failure event.
    static func describe(_ envelope: Envelope) throws -> (detail: String?, reason: String?) {
        switch envelope.messageType {
        case CustomerVerified.messageType:
            return ("tier \(try envelope.decode(CustomerVerified.self).tier.rawValue)", nil)
        case CustomerRejected.messageType:
            let reason = "customer \(try envelope.decode(CustomerRejected.self).reason.rawValue)"
            return (reason, reason)
        case StockReservationFailed.messageType:
            let event = try envelope.decode(StockReservationFailed.self)
            let reason = event.reason ?? "out of stock: \(event.shortSKUs.joined(separator: ", "))"
            return (reason, reason)
        case StockReleased.messageType:
            let lines = try envelope.decode(StockReleased.self).lines
            return (lines.isEmpty ? "nothing to release" : lines.map { "\($0.quantity) × \($0.sku)" }.joined(separator: ", "), nil)
        case PaymentAuthorized.messageType:
            let event = try envelope.decode(PaymentAuthorized.self)
            return ("\(event.amount) by \(event.processor.rawValue)", nil)
        case PaymentDeclined.messageType:
            let reason = "payment declined: \(try envelope.decode(PaymentDeclined.self).reason)"
            return (reason, reason)
        case PaymentFailed.messageType:
            let reason = "payment failed: \(try envelope.decode(PaymentFailed.self).reason)"
            return (reason, reason)
        case PaymentVoided.messageType:
            let amount = try envelope.decode(PaymentVoided.self).amount
            return (amount == .zero ? "nothing to void" : "\(amount)", nil)
        case PaymentCaptured.messageType:
            return ("\(try envelope.decode(PaymentCaptured.self).amount)", nil)
        case ShipmentScheduled.messageType:
            let event = try envelope.decode(ShipmentScheduled.self)
            return ("\(event.carrier)\(event.priority ? ", priority" : ""), fee \(event.fee)", nil)
        case ShipmentRefused.messageType:
            let reason = "shipment refused: \(try envelope.decode(ShipmentRefused.self).reason)"
            return (reason, reason)
        default:
            return (nil, nil)
        }
    }
}

/// A choreographed order as `GET /orders/{id}` shows it: the tracker's status and the
/// events the participants published for it.
public struct ChoreographedOrderView: Sendable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public var at: Date
        public var source: ServiceName
        public var event: String
        public var detail: String?
    }

    public var orderId: String
    public var mode: CheckoutMode
    public var status: ChoreographyStatus
    public var customerId: String
    public var total: String
    public var failure: String?
    /// The services whose compensation the order still waits for.
    public var awaiting: [ServiceName]
    public var createdAt: Date
    public var finishedAt: Date?
    /// The W3C trace id every message of the order carries.
    public var traceId: String?
    public var timeline: [Entry]

    init(_ record: ChoreographyStore.Record) {
        traceId = Envelope.traceIDs(of: record.traceparent)?.trace
        orderId = record.orderID
        mode = .choreography
        status = record.progress.status
        customerId = record.customerID
        total = record.total.description
        failure = record.progress.failure
        awaiting = record.progress.status == .compensating ? record.progress.awaiting : []
        createdAt = record.createdAt
        finishedAt = record.finishedAt
        timeline = record.timeline
    }
}
