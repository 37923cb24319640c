import Contracts
import Foundation
import ServiceKit

/// The orchestrator's order intake, its single entry point: an order runs as a saga it
/// drives (orchestration) or is only announced and tracked (choreography), per order or
/// by the configured default. The card number is sealed for the payment vault here, before
/// anything is stored or sent: from then on only payment can read it.
public struct OrderIntake: Sendable {
    public let runner: SagaRunner
    public let tracker: ChoreographyTracker
    public let defaultMode: CheckoutMode
    /// Whether the stack runs the choreography (`CHOREOGRAPHY`); when off, a choreographed
    /// order is refused instead of waiting for services that do not react.
    public let choreography: Bool
    /// Seals card numbers (nil only for an intake built in code, in tests: numbers then pass as they are).
    public let sealer: CardSealer?

    public init(runner: SagaRunner, tracker: ChoreographyTracker, defaultMode: CheckoutMode, choreography: Bool = true, sealer: CardSealer? = nil) {
        self.runner = runner
        self.tracker = tracker
        self.defaultMode = defaultMode
        self.choreography = choreography
        self.sealer = sealer
    }

    /// Places `request` in the caller's trace (`traceparent`, W3C), or in a new one.
    public func place(_ request: OrderRequest, idempotencyKey: String?, traceparent: String? = nil) async throws -> (orderID: String, created: Bool, mode: CheckoutMode) {
        var request = request
        if let sealer { request.payment.card = try sealer.seal(request.payment.card.filter { $0 != " " }).text }
        let mode = request.mode ?? defaultMode
        switch mode {
        case .orchestration:
            let (id, created) = try await runner.place(request, idempotencyKey: idempotencyKey, traceparent: traceparent)
            return (id, created, mode)
        case .choreography:
            guard choreography else { throw ChoreographyOff() }
            let (id, created) = try await tracker.place(request, idempotencyKey: idempotencyKey, traceparent: traceparent)
            return (id, created, mode)
        }
    }
}

/// A choreographed order placed while `CHOREOGRAPHY=off`.
public struct ChoreographyOff: Error, CustomStringConvertible {
    public var description: String { "choreography is off on this stack (CHOREOGRAPHY=off); place the order without \"mode\" or with \"mode\": \"orchestration\"" }
}
