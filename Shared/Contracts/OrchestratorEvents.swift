import Messaging

/// Event (`orchestrator.events`): a route's circuit breaker changed state. Keyed by the route.
public struct CircuitChanged: MessageContract, Hashable {
    public static let messageType = "orchestrator.circuit-changed.v1"
    /// The route, e.g. `payment/primary`.
    public var route: String
    /// `closed`, `open` or `half-open`.
    public var from: String
    public var to: String
    /// Technical failures in a row when it changed.
    public var failures: Int
    /// When the next trial may pass, while open.
    public var nextTrialAt: String?

    public init(route: String, from: String, to: String, failures: Int, nextTrialAt: String?) {
        self.route = route
        self.from = from
        self.to = to
        self.failures = failures
        self.nextTrialAt = nextTrialAt
    }
}
