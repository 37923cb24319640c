import Messaging

/// How an order's checkout runs.
public enum CheckoutMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The orchestrator sends commands and keeps the saga's state.
    case orchestration
    /// The intake only announces the order; the participants react to each other's events.
    case choreography
}

/// What a choreographed order's participants need to act without a coordinator, carried
/// by the events that start their work (event-carried state transfer): the intake puts it
/// in `order-placed`, profile passes it on in `customer-verified`.
///
/// The card travels sealed for the payment vault: no other service can read it.
public struct ChoreographedOrder: Sendable, Hashable, Codable {
    public var orderID: String
    public var customerID: String
    public var lines: [OrderLine]
    public var shipTo: Address
    public var card: PaymentCard
    public var billingName: String?
    public var billingPhone: String?

    public init(orderID: String, customerID: String, lines: [OrderLine], shipTo: Address, card: PaymentCard, billingName: String? = nil, billingPhone: String? = nil) {
        self.orderID = orderID
        self.customerID = customerID
        self.lines = lines
        self.shipTo = shipTo
        self.card = card
        self.billingName = billingName
        self.billingPhone = billingPhone
    }

    public var total: Money { lines.total }

    enum CodingKeys: String, CodingKey {
        case orderID = "orderId", customerID = "customerId", lines, shipTo, card, billingName, billingPhone
    }
}

/// One reaction of a participant in the choreographed checkout: on an event, what it does
/// and which events it may publish. Each participant registers its handlers through these
/// declarations (a handler for an undeclared event does not start), and `GET /choreography`
/// draws the flow from them.
public struct Reaction: Sendable {
    public var service: ServiceName
    public var on: any Event.Type
    public var action: String
    public var emits: [any Event.Type]

    public init(_ service: ServiceName, on: any Event.Type, _ action: String, emits: [any Event.Type] = []) {
        self.service = service
        self.on = on
        self.action = action
        self.emits = emits
    }
}

/// How the tracker (run by the orchestrator, the intake) turns a choreographed order's
/// events into its outcome; see `ChoreographyCatalog.outcome`.
public struct OutcomeRule: Sendable {
    /// An event that fails the order, and the services that must then answer with their
    /// compensation's event (even when they had nothing to undo) before the order is over.
    public var failure: any Event.Type
    public var awaits: [ServiceName]

    public init(failure: any Event.Type, awaits: [ServiceName]) {
        self.failure = failure
        self.awaits = awaits
    }
}

/// The choreographed checkout, as the participants declare it.
public enum ChoreographyCatalog {
    /// The value of the envelope's `flow` header on every message of a choreographed checkout.
    public static let flow = CheckoutMode.choreography.rawValue

    public static let reactions: [Reaction] = [
        Reaction(.profile, on: OrderPlaced.self, "verify the customer", emits: [CustomerVerified.self, CustomerRejected.self]),

        Reaction(.inventory, on: CustomerVerified.self, "reserve every line or none", emits: [StockReserved.self, StockReservationFailed.self]),
        Reaction(.payment, on: CustomerVerified.self, "authorize: primary, then backup", emits: [PaymentAuthorized.self, PaymentDeclined.self, PaymentFailed.self, PaymentVoided.self]),

        Reaction(.shipping, on: OrderPlaced.self, "open the join; refuse it when the deadline passes", emits: [ShipmentRefused.self]),
        Reaction(.shipping, on: CustomerVerified.self, "join: customer verified (tier, total)", emits: [ShipmentScheduled.self]),
        Reaction(.shipping, on: StockReserved.self, "join: stock reserved", emits: [ShipmentScheduled.self]),
        Reaction(.shipping, on: PaymentAuthorized.self, "join: payment authorized", emits: [ShipmentScheduled.self]),
        Reaction(.shipping, on: CustomerRejected.self, "close the join"),
        Reaction(.shipping, on: StockReservationFailed.self, "close the join"),
        Reaction(.shipping, on: PaymentDeclined.self, "close the join"),
        Reaction(.shipping, on: PaymentFailed.self, "close the join"),

        Reaction(.payment, on: ShipmentScheduled.self, "capture", emits: [PaymentCaptured.self]),
        Reaction(.inventory, on: ShipmentScheduled.self, "commit the reservation", emits: [StockCommitted.self]),

        Reaction(.inventory, on: PaymentDeclined.self, "release (or never reserve)", emits: [StockReleased.self]),
        Reaction(.inventory, on: PaymentFailed.self, "release (or never reserve)", emits: [StockReleased.self]),
        Reaction(.inventory, on: ShipmentRefused.self, "release (or never reserve)", emits: [StockReleased.self]),
        Reaction(.payment, on: StockReservationFailed.self, "void (or never authorize)", emits: [PaymentVoided.self]),
        Reaction(.payment, on: ShipmentRefused.self, "void (or never authorize)", emits: [PaymentVoided.self]),
    ]

    /// The tracker: an order completes when both of these were seen...
    public static let completion: [any Event.Type] = [PaymentCaptured.self, StockCommitted.self]

    /// ...and fails on any of these, once the services named answered.
    public static let outcome: [OutcomeRule] = [
        OutcomeRule(failure: CustomerRejected.self, awaits: []),
        OutcomeRule(failure: StockReservationFailed.self, awaits: [.payment]),
        OutcomeRule(failure: PaymentDeclined.self, awaits: [.inventory]),
        OutcomeRule(failure: PaymentFailed.self, awaits: [.inventory]),
        OutcomeRule(failure: ShipmentRefused.self, awaits: [.inventory, .payment]),
    ]

    /// The event each service publishes when it compensated (or had nothing to undo).
    public static let compensated: [ServiceName: any Event.Type] = [.inventory: StockReleased.self, .payment: PaymentVoided.self]

    /// The reactions of `service`.
    public static func reactions(of service: ServiceName) -> [Reaction] { reactions.filter { $0.service == service } }

    /// The reaction of `service` to `event`.
    public static func reaction(of service: ServiceName, to event: any Event.Type) -> Reaction? {
        reactions.first { $0.service == service && $0.on.messageType == event.messageType }
    }

    /// The event sources (`<source>.events.choreography` topics) `service` must subscribe to.
    public static func sources(of service: ServiceName) -> [ServiceName] {
        Array(Set(reactions(of: service).map { $0.on.source })).sorted()
    }

    /// Every source of a choreographed checkout's events: each has a
    /// `<source>.events.choreography` topic.
    public static var eventSources: [ServiceName] {
        Array(Set(reactions.flatMap { [$0.on.source] + $0.emits.map { $0.source } })).sorted()
    }
}
