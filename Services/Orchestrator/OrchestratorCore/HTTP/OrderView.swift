import Contracts
import Foundation
import Messaging

/// An order as `GET /orders/{id}` shows it: its saga's status and step timeline.
public struct OrderView: Sendable, Codable {
    public struct Step: Sendable, Codable {
        public var id: String
        public var participant: ServiceName
        public var command: String
        public var status: StepStatus
        public var attempts: [StepAttempt]
        public var startedAt: Date?
        public var finishedAt: Date?
        public var outcome: String?
    }

    public var orderId: String
    /// Always `orchestration`: a choreographed order is a `ChoreographedOrderView`.
    public var mode: CheckoutMode = .orchestration
    public var status: SagaStatus
    public var customerId: String
    public var total: String?
    public var definition: DefinitionReference
    public var failure: String?
    /// What is left to do when the order needs attention.
    public var attention: [String]?
    public var createdAt: Date
    public var finishedAt: Date?
    public var steps: [Step]
    /// The W3C trace id every message of the order carries.
    public var traceId: String?
    public var history: [SagaEvent]

    public struct DefinitionReference: Sendable, Codable, Hashable {
        public var name: String
        public var version: Int
    }

    public init(_ saga: SagaInstance, definition: SagaDefinition?) {
        orderId = saga.id
        status = saga.status
        customerId = saga.customerID
        total = saga.data[path: "order.total"]?.string
        self.definition = DefinitionReference(name: saga.definitionName, version: saga.definitionVersion)
        failure = saga.failure
        attention = saga.attention
        createdAt = saga.createdAt
        finishedAt = saga.finishedAt
        let order = definition?.steps ?? []
        steps = order.map { step in
            let state = saga.steps[step.id] ?? StepState()
            return Step(id: step.id, participant: step.participant, command: step.command, status: state.status,
                        attempts: state.attempts, startedAt: state.startedAt, finishedAt: state.finishedAt, outcome: state.outcome)
        }
        traceId = Envelope.traceIDs(of: saga.traceparent)?.trace
        history = saga.history
    }
}

/// One line of `GET /orders`.
public struct OrderSummary: Sendable, Codable {
    public var orderId: String
    public var status: SagaStatus
    public var customerId: String
    public var total: String?
    public var createdAt: Date
    public var finishedAt: Date?

    public init(_ saga: SagaInstance) {
        orderId = saga.id
        status = saga.status
        customerId = saga.customerID
        total = saga.data[path: "order.total"]?.string
        createdAt = saga.createdAt
        finishedAt = saga.finishedAt
    }
}

/// `GET /orders`: a page of orders, newest first.
public struct OrderPage: Sendable, Codable {
    public var orders: [OrderSummary]
    public var limit: Int
    public var offset: Int
    /// The offset of the next page, when there may be one.
    public var nextOffset: Int?
}

/// `POST /orders` answers with this (202 Accepted).
public struct OrderAccepted: Sendable, Codable {
    public var orderId: String
    public var status: String
    /// How the order's checkout runs.
    public var mode: CheckoutMode?
    public var url: String
    /// For `GET /profiles/{id}?after=` on the aggregator: answers once the order is in it.
    public var consistencyToken: String?
}

/// One route's circuit breaker, as `GET /breakers` shows it.
public struct BreakerView: Sendable, Codable {
    public var route: String
    /// Now.
    public var state: BreakerRecord.State
    /// Technical failures in a row.
    public var failures: Int
    public var openedAt: Date?
    /// When the next trial may pass, while open or half-open.
    public var nextTrialAt: Date?
    public var changedAt: Date?
    public var policy: BreakerPolicy

    public init(_ record: BreakerRecord, now: Date) {
        route = record.route
        state = record.state(at: now)
        failures = record.failures
        openedAt = record.openedAt
        nextTrialAt = record.trialAt
        changedAt = record.changedAt
        policy = record.policy
    }
}
