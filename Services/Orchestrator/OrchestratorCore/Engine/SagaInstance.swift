import Messaging
import Foundation

/// Where a saga is.
public enum SagaStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case running
    case compensating
    /// Every step succeeded.
    case completed
    /// A step failed and every completed step was undone.
    case compensated
    /// A step failed with nothing to undo.
    case failed
    /// Stopped where software cannot decide: a compensation, or a step after the pivot,
    /// was refused. `SagaInstance.attention` says what is left; an operator re-drives it.
    case needsAttention = "needs-attention"

    public var isFinished: Bool { self == .completed || self == .compensated || self == .failed || self == .needsAttention }
}

/// Where a step is.
public enum StepStatus: String, Sendable, Hashable, Codable {
    case pending, running, waitingRetry, succeeded, failed, skipped, compensating, compensated, compensationFailed

    var isSettled: Bool { self == .succeeded || self == .failed || self == .skipped }
}

/// One command sent for a step (or its compensation) and how it ended.
public struct StepAttempt: Sendable, Hashable, Codable {
    public var number: Int
    /// The command's `message-id`; a reply's `causation-id` names it.
    public var messageID: UUID?
    public var command: String
    public var fallback: Bool
    public var sentAt: Date
    public var finishedAt: Date?
    public var result: String?
}

/// A step's state within one saga.
public struct StepState: Sendable, Hashable, Codable {
    public var status: StepStatus = .pending
    public var attempts: [StepAttempt] = []
    public var usingFallback = false
    /// The command whose reply the step waits for; replies to anything else are ignored.
    public var pendingMessageID: UUID?
    /// When the pending command times out, or when the next retry is due.
    public var deadline: Date?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var outcome: String?
    /// Completion order, used to compensate in reverse.
    public var completedSequence: Int?
    /// An attempt timed out without a definite answer: its effect may have happened, so a
    /// failed step with this set is compensated too (compensations are idempotent).
    public var uncertain: Bool?
    /// When the stuck signal was raised for this step (or its compensation).
    public var stuckSince: Date?
    /// The pending command was sent before the orchestrator restarted: if it times out, the
    /// cause may be the restart (or a broker that lost it), so the participant's circuit
    /// breaker does not count it.
    public var resumed: Bool?
}

/// One line of a saga's history.
public struct SagaEvent: Sendable, Hashable, Codable {
    /// What happened. The raw value is the stable text stored and shown in the API.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case sagaStarted = "saga started"
        case commandSent = "command sent"
        case stepSucceeded = "step succeeded"
        case stepFailed = "step failed"
        case stepSkipped = "step skipped"
        case decision = "decision"
        case timedOut = "timed out"
        case retryScheduled = "retry scheduled"
        case fallingBack = "falling back"
        case circuitOpen = "circuit open"
        case waitingForCircuit = "waiting for circuit"
        case lateReplyAccepted = "late reply accepted"
        case lateReplyIgnored = "late reply ignored"
        case resumedAfterRestart = "resumed after restart"
        case compensationStarted = "compensation started"
        case compensating = "compensating"
        case compensated = "compensated"
        case compensationRefused = "compensation refused"
        case compensationFailed = "compensation failed"
        case stepRefusedAfterPivot = "refused after the pivot"
        case stuck = "stuck"
        case sagaCompleted = "saga completed"
        case sagaCompensated = "saga compensated"
        case sagaFailed = "saga failed"
        case needsAttention = "needs attention"
        case redriven = "re-driven"
    }

    public var at: Date
    public var step: String?
    public var event: Kind
    public var detail: String?
}

/// The durable state of one saga (one order).
public struct SagaInstance: Sendable, Hashable, Codable {
    public var id: String
    public var definitionName: String
    public var definitionVersion: Int
    public var customerID: String
    public var status: SagaStatus = .running
    public var data: JSONValue
    public var stage = 0
    public var steps: [String: StepState] = [:]
    /// Steps still to compensate, next first.
    public var compensationQueue: [String] = []
    public var failure: String?
    /// What is left to do when the saga needs attention.
    public var attention: [String]?
    /// The saga's history. Stored as rows of their own (`saga_history`), not in the state
    /// document; a saga read for the engine holds only the events added since it was read.
    public var history: [SagaEvent] = []
    /// How many events are stored as rows (the next row's sequence number).
    var storedHistory = 0
    public var createdAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?
    /// The order's trace (W3C `traceparent` of the intake): every message of the saga is a
    /// span of it. Nil for a saga started before traces were kept.
    public var traceparent: String?
    var completions = 0

    public init(id: String, definition: SagaDefinition, customerID: String, data: JSONValue, now: Date) {
        self.id = id
        self.definitionName = definition.name
        self.definitionVersion = definition.version
        self.customerID = customerID
        self.data = data
        self.createdAt = now
        self.updatedAt = now
        for step in definition.steps {
            steps[step.id] = StepState()
        }
    }

    /// The earliest moment a timer must look at this saga, if any.
    public var nextDeadline: Date? {
        steps.values.compactMap(\.deadline).min()
    }

    mutating func record(_ event: SagaEvent.Kind, step: String? = nil, detail: String? = nil, at now: Date) {
        history.append(SagaEvent(at: now, step: step, event: event, detail: detail))
        updatedAt = now
    }
}
