import Contracts
import Foundation
import Hummingbird
import Messaging
import SQLKit
import ServiceKit
import Storage

/// The shipping service: schedules shipments with a carrier, tracking number, label and
/// fee; cancels them (compensation).
public struct ShippingService: Participant {
    public let name = ServiceName.shipping
    public let defaultHTTPPort = 8084
    public var migrations: [Migration] { [ShipmentStore.migration] }

    public init() {}

    public func commands(_ context: ParticipantContext, router: inout MessageRouter) {
        context.handle(ScheduleShipment.self, in: &router) { command, _, sql in
            if let existing = try await ShipmentStore.shipment(order: command.orderID, in: sql) {
                guard existing.status == .scheduled else {
                    throw CommandRefused.refused("order \(command.orderID)'s shipment was cancelled; it is not scheduled again")
                }
                return .replyAndPublish(Self.scheduled(existing))
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
            return .replyAndPublish(Self.scheduled(shipment))
        }
        context.handle(CancelShipment.self, in: &router) { command, _, sql in
            if var shipment = try await ShipmentStore.shipment(order: command.orderID, in: sql), shipment.status != .cancelled {
                shipment.status = .cancelled
                try await ShipmentStore.save(shipment, in: sql)
            }
            return .replyAndPublish(ShipmentCancelled(orderID: command.orderID))
        }
    }

    static func scheduled(_ shipment: ShipmentStore.Shipment) -> ShipmentScheduled {
        ShipmentScheduled(
            orderID: shipment.orderID, carrier: shipment.carrier, trackingNumber: shipment.trackingNumber,
            labelReference: shipment.labelReference, fee: shipment.fee, priority: shipment.priority
        )
    }

    public func seed(_ context: ParticipantContext) async throws {}

    public func routes(_ context: ParticipantContext, router: Router<BasicRequestContext>) {
        let database = context.database
        router.get("shipments") { request, _ -> Response in
            let order = try request.requiredQuery("orderId")
            let shipments = try await database.read { sql in
                try await ShipmentStore.shipment(order: order, in: sql).map { [$0] } ?? []
            }
            return try ServiceHTTPServer.jsonResponse(.ok, shipments)
        }
    }
}
