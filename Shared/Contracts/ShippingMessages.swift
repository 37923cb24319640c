import Messaging

/// Where a shipment is.
public enum ShipmentStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case scheduled
    case cancelled
}

/// Command to `shipping.commands`: ship an order.
public struct ScheduleShipment: MessageContract, Hashable {
    public static let messageType = "shipping.schedule-shipment.v1"
    public var orderID: String
    public var shipTo: Address
    /// Express handling with the priority carrier.
    public var priority: Bool
    /// The customer pays no fee.
    public var free: Bool

    public init(orderID: String, shipTo: Address, priority: Bool = false, free: Bool = false) {
        self.orderID = orderID
        self.shipTo = shipTo
        self.priority = priority
        self.free = free
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", shipTo, priority, free }
}

/// Reply and event: a carrier will pick the order up.
public struct ShipmentScheduled: MessageContract, Hashable {
    public static let messageType = "shipping.shipment-scheduled.v1"
    public var orderID: String
    public var carrier: String
    public var trackingNumber: String
    public var labelReference: String
    public var fee: Money
    public var priority: Bool

    public init(orderID: String, carrier: String, trackingNumber: String, labelReference: String, fee: Money, priority: Bool) {
        self.orderID = orderID
        self.carrier = carrier
        self.trackingNumber = trackingNumber
        self.labelReference = labelReference
        self.fee = fee
        self.priority = priority
    }

    enum CodingKeys: String, CodingKey {
        case orderID = "orderId", carrier, trackingNumber, labelReference, fee, priority
    }
}

/// Command (compensation): cancel an order's shipment.
public struct CancelShipment: MessageContract, Hashable {
    public static let messageType = "shipping.cancel-shipment.v1"
    public var orderID: String

    public init(orderID: String) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId" }
}

/// Reply and event: the shipment is cancelled (or there was none).
public struct ShipmentCancelled: MessageContract, Hashable {
    public static let messageType = "shipping.shipment-cancelled.v1"
    public var orderID: String

    public init(orderID: String) {
        self.orderID = orderID
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId" }
}

/// Event (choreographed checkout): shipping will not ship the order, so the services that
/// acted undo what they did. Shipping owns the choreography's deadline: it refuses an order
/// whose join (customer verified, stock reserved, payment authorized) is not complete when
/// the deadline passes, and then never schedules it.
public struct ShipmentRefused: MessageContract, Hashable {
    public static let messageType = "shipping.shipment-refused.v1"
    public var orderID: String
    public var reason: String
    /// What shipping was still waiting for (`customer-verified`, `stock-reserved`, `payment-authorized`).
    public var waitingFor: [String]

    public init(orderID: String, reason: String, waitingFor: [String] = []) {
        self.orderID = orderID
        self.reason = reason
        self.waitingFor = waitingFor
    }

    enum CodingKeys: String, CodingKey { case orderID = "orderId", reason, waitingFor }
}
