import Messaging

// Which service handles each command and which context publishes each event: the typed
// vocabulary that topics, saga definitions and validation are derived from.

// MARK: Commands

extension VerifyCustomer: Command {
    public static let service = ServiceName.profile
    public static let changesState = false
}

extension ReserveStock: Command {
    public static let service = ServiceName.inventory
    public static let changesState = true
}

extension ReleaseStock: Command {
    public static let service = ServiceName.inventory
    public static let changesState = false
}

extension CommitStock: Command {
    public static let service = ServiceName.inventory
    public static let changesState = true
}

extension AuthorizePayment: Command {
    public static let service = ServiceName.payment
    public static let changesState = true
}

extension CapturePayment: Command {
    public static let service = ServiceName.payment
    public static let changesState = true
}

extension VoidPayment: Command {
    public static let service = ServiceName.payment
    public static let changesState = false
}

extension RefundPayment: Command {
    public static let service = ServiceName.payment
    public static let changesState = false
}

extension ReversePayment: Command {
    public static let service = ServiceName.payment
    public static let changesState = false
}

extension ScheduleShipment: Command {
    public static let service = ServiceName.shipping
    public static let changesState = true
}

extension CancelShipment: Command {
    public static let service = ServiceName.shipping
    public static let changesState = false
}

// MARK: Events

extension CustomerVerified: Event { public static let source = ServiceName.profile }
extension CustomerRejected: Event { public static let source = ServiceName.profile }
extension CustomerRegistered: Event { public static let source = ServiceName.profile }
extension CustomerUpdated: Event { public static let source = ServiceName.profile }

extension StockReserved: Event { public static let source = ServiceName.inventory }
extension StockReservationFailed: Event { public static let source = ServiceName.inventory }
extension StockReleased: Event { public static let source = ServiceName.inventory }
extension StockCommitted: Event { public static let source = ServiceName.inventory }
extension StockLevelSet: Event { public static let source = ServiceName.inventory }

extension PaymentAuthorized: Event { public static let source = ServiceName.payment }
extension PaymentDeclined: Event { public static let source = ServiceName.payment }
extension PaymentFailed: Event { public static let source = ServiceName.payment }
extension PaymentCaptured: Event { public static let source = ServiceName.payment }
extension PaymentVoided: Event { public static let source = ServiceName.payment }
extension PaymentRefunded: Event { public static let source = ServiceName.payment }

extension ShipmentScheduled: Event { public static let source = ServiceName.shipping }
extension ShipmentCancelled: Event { public static let source = ServiceName.shipping }
extension ShipmentRefused: Event { public static let source = ServiceName.shipping }

extension OrderPlaced: Event { public static let source = ServiceName.orders }
extension OrderCompleted: Event { public static let source = ServiceName.orders }
extension OrderFailed: Event { public static let source = ServiceName.orders }
extension OrderNeedsAttention: Event { public static let source = ServiceName.orders }
extension OrderStuck: Event { public static let source = ServiceName.orders }

extension CircuitChanged: Event { public static let source = ServiceName.orchestrator }

/// Every event type, by `message-type`: what a consumer of `*.events` topics may meet.
public enum EventCatalog {
    public static let all: [any Event.Type] = [
        CustomerRegistered.self, CustomerUpdated.self, CustomerVerified.self, CustomerRejected.self,
        OrderPlaced.self, OrderCompleted.self, OrderFailed.self, OrderNeedsAttention.self, OrderStuck.self,
        PaymentAuthorized.self, PaymentDeclined.self, PaymentFailed.self, PaymentCaptured.self, PaymentVoided.self, PaymentRefunded.self,
        StockReserved.self, StockReservationFailed.self, StockReleased.self, StockCommitted.self, StockLevelSet.self,
        ShipmentScheduled.self, ShipmentCancelled.self, ShipmentRefused.self,
        CircuitChanged.self,
    ]

    /// The event type named `messageType`.
    public static func type(named messageType: String) -> (any Event.Type)? { byName[messageType] }

    private static let byName: [String: any Event.Type] = Dictionary(uniqueKeysWithValues: all.map { ($0.messageType, $0) })
}
