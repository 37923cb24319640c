/// Read your own writes: names what a read model must have applied before it answers.
/// The orchestrator hands one out with an accepted order (`placed`) and puts one in the
/// order's outcome event (`finished`); `GET /profiles/{id}?after=TOKEN` waits for it.
///
/// The outbox publishes an order's events after the HTTP response, so their Kafka offsets
/// are not known when the token is made; the token names the order and the stage instead.
public struct ConsistencyToken: Sendable, Hashable {
    public enum Stage: String, Sendable, Hashable {
        case placed
        case finished
    }

    public var orderID: String
    public var stage: Stage

    public init(orderID: String, stage: Stage) {
        self.orderID = orderID
        self.stage = stage
    }

    /// The token's text: `v1.<stage>.<order id>` (the aggregator's document states the
    /// pattern, so a client can tell a token from a typo).
    public var text: String {
        "v1.\(stage.rawValue).\(orderID)"
    }

    /// Reads a token's text; nil when it is not one.
    public init?(text: String) {
        let parts = text.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == "v1", let stage = Stage(rawValue: parts[1]), !parts[2].isEmpty else { return nil }
        self.init(orderID: parts[2], stage: stage)
    }
}
