import Contracts
import Foundation

/// The orchestrator's order intake, its single entry point: an order runs as a saga it
/// drives (orchestration) or is only announced and tracked (choreography), per order or
/// by the configured default.
public struct OrderIntake: Sendable {
    public let runner: SagaRunner
    public let tracker: ChoreographyTracker
    public let defaultMode: CheckoutMode

    public init(runner: SagaRunner, tracker: ChoreographyTracker, defaultMode: CheckoutMode) {
        self.runner = runner
        self.tracker = tracker
        self.defaultMode = defaultMode
    }

    public func place(_ request: OrderRequest, idempotencyKey: String?) async throws -> (orderID: String, created: Bool, mode: CheckoutMode) {
        let mode = request.mode ?? defaultMode
        switch mode {
        case .orchestration:
            let (id, created) = try await runner.place(request, idempotencyKey: idempotencyKey)
            return (id, created, mode)
        case .choreography:
            let (id, created) = try await tracker.place(request, idempotencyKey: idempotencyKey)
            return (id, created, mode)
        }
    }
}
