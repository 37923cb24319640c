import Foundation
import Messaging

/// A saga written as data: its steps, in order. A stage is one step, a group of steps run
/// in parallel, or a decision that sets saga data from a condition.
///
/// Steps fall in three kinds (Garcia-Molina and Salem's saga pattern): before the `pivot`
/// they are *compensatable* (a later failure undoes them); the pivot is the point of no
/// return; after it they are *retriable*: they are driven forward with backoff until they
/// succeed, never compensated, and raise a stuck signal after `stuckAfterSeconds`. Without
/// a pivot every step is compensatable.
public struct SagaDefinition: Sendable, Hashable, Codable {
    public var name: String
    public var version: Int
    public var description: String?
    /// The id of the pivot step: once it succeeded the saga only goes forward.
    public var pivot: String?
    /// How long a retriable step (or a compensation) may keep failing before the saga
    /// raises its stuck signal (a metric, an `orders.order-stuck.v1` event and a log line).
    public var stuckAfterSeconds: Int?
    public var stages: [Stage]

    public init(name: String, version: Int, description: String? = nil, pivot: String? = nil, stuckAfterSeconds: Int? = nil, stages: [Stage]) {
        self.name = name
        self.version = version
        self.description = description
        self.pivot = pivot
        self.stuckAfterSeconds = stuckAfterSeconds
        self.stages = stages
    }

    /// `stuckAfterSeconds`, 60 s by default.
    public var stuckAfter: TimeInterval { TimeInterval(stuckAfterSeconds ?? 60) }

    /// The index of the stage that holds step (or decision) `id`.
    public func stageIndex(of id: String) -> Int? {
        stages.firstIndex { stage in
            if case .decide(let decision) = stage { return decision.id == id }
            return stage.steps.contains { $0.id == id }
        }
    }

    /// Whether step `id` comes after the pivot: retried until it succeeds, never compensated.
    public func isRetriable(_ id: String) -> Bool {
        guard let pivot, let pivotStage = stageIndex(of: pivot), let stage = stageIndex(of: id) else { return false }
        return stage > pivotStage
    }

    /// Whether stage `index` comes after the pivot.
    func isAfterPivot(stage index: Int) -> Bool {
        guard let pivot, let pivotStage = stageIndex(of: pivot) else { return false }
        return index > pivotStage
    }

    public enum Stage: Sendable, Hashable, Codable {
        case step(Step)
        case parallel([Step])
        case decide(Decision)

        enum CodingKeys: String, CodingKey { case step, parallel, decide }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            guard container.allKeys.count == 1, let key = container.allKeys.first else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a stage has exactly one of step, parallel, decide"))
            }
            switch key {
            case .step: self = .step(try container.decode(Step.self, forKey: .step))
            case .parallel: self = .parallel(try container.decode([Step].self, forKey: .parallel))
            case .decide: self = .decide(try container.decode(Decision.self, forKey: .decide))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .step(let step): try container.encode(step, forKey: .step)
            case .parallel(let steps): try container.encode(steps, forKey: .parallel)
            case .decide(let decision): try container.encode(decision, forKey: .decide)
            }
        }

        /// The steps of this stage (none for a decision).
        public var steps: [Step] {
            switch self {
            case .step(let step): [step]
            case .parallel(let steps): steps
            case .decide: []
            }
        }
    }

    /// One command to one participant, with its compensation, retries, timeout, fallback,
    /// and the route its circuit breaker guards.
    public struct Step: Sendable, Hashable, Codable {
        public var id: String
        public var participant: ServiceName
        /// The command's `message-type`, e.g. `payment.authorize.v1`.
        public var command: String
        /// The compensating command's `message-type`, if the step's effect must be undone on failure.
        public var compensation: String?
        public var retry: RetryPolicy?
        public var timeoutMilliseconds: Int?
        /// Run the step only when this holds (it is skipped otherwise).
        public var when: Predicate?
        /// What to try when the step's retries are used up, it times out, or its route's circuit is open.
        public var fallback: Fallback?
        /// The name of the way this step reaches its participant, e.g. `payment/primary`;
        /// `<participant>/<command>` by default. Each route has its own circuit breaker.
        public var route: String?
        /// The route's breaker policy (threshold, open duration, half-open trials).
        public var breaker: BreakerPolicy?

        public init(id: String, participant: ServiceName, command: String, compensation: String? = nil, retry: RetryPolicy? = nil,
                    timeoutMilliseconds: Int? = nil, when: Predicate? = nil, fallback: Fallback? = nil, route: String? = nil, breaker: BreakerPolicy? = nil) {
            self.id = id
            self.participant = participant
            self.command = command
            self.compensation = compensation
            self.retry = retry
            self.timeoutMilliseconds = timeoutMilliseconds
            self.when = when
            self.fallback = fallback
            self.route = route
            self.breaker = breaker
        }

        public var retryPolicy: RetryPolicy { retry ?? RetryPolicy(attempts: 1, initialBackoff: .milliseconds(100)) }
        public var timeout: Duration { .milliseconds(timeoutMilliseconds ?? 5000) }

        /// The route of the step's normal attempts.
        public var primaryRoute: String { route ?? "\(participant)/\(command)" }
        /// The route of its fallback attempts.
        public var fallbackRoute: String { fallback?.route ?? "\(primaryRoute)/fallback" }

        /// The route (and its policy) an attempt takes.
        func route(fallback: Bool) -> (name: String, policy: BreakerPolicy?) {
            fallback ? (fallbackRoute, self.fallback?.breaker ?? breaker) : (primaryRoute, breaker)
        }
    }

    /// Saga data to set for the fallback attempt (e.g. `{"payment.processor": "backup"}`),
    /// its retries, and its route (with its own breaker).
    public struct Fallback: Sendable, Hashable, Codable {
        public var set: [String: JSONValue]
        public var retry: RetryPolicy?
        public var route: String?
        public var breaker: BreakerPolicy?

        public init(set: [String: JSONValue], retry: RetryPolicy? = nil, route: String? = nil, breaker: BreakerPolicy? = nil) {
            self.set = set
            self.retry = retry
            self.route = route
            self.breaker = breaker
        }
    }

    /// Sets saga data from a condition.
    public struct Decision: Sendable, Hashable, Codable {
        public var id: String
        public var when: Predicate
        public var then: [String: JSONValue]
        public var otherwise: [String: JSONValue]?

        public init(id: String, when: Predicate, then: [String: JSONValue], otherwise: [String: JSONValue]? = nil) {
            self.id = id
            self.when = when
            self.then = then
            self.otherwise = otherwise
        }
    }

    /// Every step, in definition order.
    public var steps: [Step] { stages.flatMap(\.steps) }

    public func step(_ id: String) -> Step? { steps.first { $0.id == id } }

    /// Every route the definition's steps take, with its breaker policy.
    public var routes: [(name: String, policy: BreakerPolicy?)] {
        steps.flatMap { step in [step.route(fallback: false)] + (step.fallback == nil ? [] : [step.route(fallback: true)]) }
    }

    /// A stable key such as `checkout@1`.
    public var key: String { "\(name)@\(version)" }
}
