import Contracts
import Foundation
import Messaging
@testable import OrchestratorCore
import Testing

@Suite("Circuit breakers per route")
struct CircuitBreakerTests {
    let start = Date(timeIntervalSince1970: 1_000_000)
    let policy = BreakerPolicy(threshold: 3, openSeconds: 10, halfOpenTrials: 1)

    @Test("the threshold opens a route; successes on other routes do not reset it")
    func threshold() {
        let breakers = CircuitBreakers()
        breakers.recordFailure("payment/primary", policy: policy, now: start)
        breakers.recordFailure("payment/primary", policy: policy, now: start)
        breakers.recordSuccess("payment/payment.capture.v1", now: start)
        breakers.recordSuccess("payment/backup", now: start)
        #expect(breakers.state("payment/primary", now: start) == .closed)
        breakers.recordFailure("payment/primary", policy: policy, now: start)
        #expect(breakers.state("payment/primary", now: start) == .open)
        #expect(breakers.state("payment/backup", now: start) == .closed)
        #expect(!breakers.allows("payment/primary", policy: policy, now: start.addingTimeInterval(9.9), lease: 4))
    }

    @Test("after the open duration one half-open trial passes; its success closes the circuit")
    func halfOpenSuccess() {
        let breakers = CircuitBreakers()
        for _ in 0..<3 { breakers.recordFailure("r", policy: policy, now: start) }
        let later = start.addingTimeInterval(10)
        #expect(breakers.state("r", now: later) == .halfOpen)
        #expect(breakers.allows("r", policy: policy, now: later, lease: 4), "the trial")
        #expect(!breakers.allows("r", policy: policy, now: later, lease: 4), "one trial at a time")
        #expect(breakers.nextTrial("r", now: later) > later)
        breakers.recordSuccess("r", now: later.addingTimeInterval(1))
        #expect(breakers.state("r", now: later.addingTimeInterval(1)) == .closed)
        let changes = breakers.takeChanges().transitions.map { "\($0.from.rawValue)→\($0.to.rawValue)" }
        #expect(changes == ["closed→open", "open→half-open", "half-open→closed"])
    }

    @Test("a failed trial opens the circuit again for the whole duration; an unanswered trial's lease runs out")
    func halfOpenFailure() {
        let breakers = CircuitBreakers()
        for _ in 0..<3 { breakers.recordFailure("r", policy: policy, now: start) }
        let trial = start.addingTimeInterval(10)
        #expect(breakers.allows("r", policy: policy, now: trial, lease: 4))
        breakers.recordFailure("r", policy: policy, now: trial.addingTimeInterval(1))
        #expect(breakers.state("r", now: trial.addingTimeInterval(10)) == .open, "open again from the failed trial")
        let next = trial.addingTimeInterval(11)
        #expect(breakers.allows("r", policy: policy, now: next, lease: 4))
        // That trial is never answered (its reply lost): once its lease is over, another may go.
        #expect(!breakers.allows("r", policy: policy, now: next.addingTimeInterval(3), lease: 4))
        #expect(breakers.allows("r", policy: policy, now: next.addingTimeInterval(4.1), lease: 4))
    }

    @Test("several trials: the circuit closes after as many successes")
    func severalTrials() {
        let breakers = CircuitBreakers()
        let twoTrials = BreakerPolicy(threshold: 1, openSeconds: 5, halfOpenTrials: 2)
        breakers.recordFailure("r", policy: twoTrials, now: start)
        let later = start.addingTimeInterval(5)
        #expect(breakers.allows("r", policy: twoTrials, now: later, lease: 4))
        #expect(breakers.allows("r", policy: twoTrials, now: later, lease: 4))
        #expect(!breakers.allows("r", policy: twoTrials, now: later, lease: 4))
        breakers.recordSuccess("r", now: later)
        #expect(breakers.state("r", now: later) == .halfOpen)
        breakers.recordSuccess("r", now: later)
        #expect(breakers.state("r", now: later) == .closed)
    }

    @Test("with the primary route open, authorizations go straight to the backup: one attempt, 'circuit open' in the history")
    func primaryOpenUsesBackup() throws {
        let breakers = CircuitBreakers()
        // Three orders fail on the primary processor; the third failure opens payment/primary.
        var first = try EngineDriver(breakers: breakers)
        try first.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        try first.reply("authorize-payment", PaymentFailed(orderID: "o1", processor: .primary, reason: "down"))
        first.advance(by: 0.2)
        try first.reply("authorize-payment", PaymentFailed(orderID: "o1", processor: .primary, reason: "down"))
        #expect(breakers.state("payment/primary", now: first.now) == .closed, "two failures, threshold three")
        // The backup route succeeds: recorded on its own route, not resetting the primary's count.
        try first.reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "B", amount: 25, processor: .backup))
        #expect(breakers.records.first { $0.route == "payment/primary" }?.failures == 2)

        var second = try EngineDriver(breakers: breakers)
        second.now = first.now
        try second.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        try second.reply("authorize-payment", PaymentFailed(orderID: "o1", processor: .primary, reason: "down"))
        #expect(breakers.state("payment/primary", now: second.now) == .open)

        var third = try EngineDriver(breakers: breakers)
        third.now = second.now.addingTimeInterval(1)
        try third.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        let attempts = third.saga.steps["authorize-payment"]?.attempts ?? []
        #expect(attempts.count == 1 && attempts.first?.fallback == true, "no attempt on the primary")
        #expect((third.commands("authorize-payment").first?.message as? AuthorizePayment)?.processor == .backup)
        #expect(third.events(.circuitOpen, step: "authorize-payment").first?.detail == "payment/primary: taking the fallback payment/backup")

        // After the open duration (10 s in checkout v2) a trial goes to the primary again; success closes it.
        var fourth = try EngineDriver(breakers: breakers)
        fourth.now = second.now.addingTimeInterval(10.5)
        try fourth.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        #expect((fourth.commands("authorize-payment").first?.message as? AuthorizePayment)?.processor == .primary, "the half-open trial")
        try fourth.reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "P", amount: 25, processor: .primary))
        #expect(breakers.state("payment/primary", now: fourth.now) == .closed)
    }

    @Test("a step's route and breaker policy come from the definition, with defaults")
    func routesFromDefinition() throws {
        let definition = CheckoutDefinition.definition
        let authorize = try #require(definition.step("authorize-payment"))
        #expect(authorize.primaryRoute == "payment/primary" && authorize.fallbackRoute == "payment/backup")
        #expect(authorize.breaker == BreakerPolicy(threshold: 3, openSeconds: 10, halfOpenTrials: 1))
        #expect(definition.step("capture-payment")?.primaryRoute == "payment/payment.capture.v1")
        var broken = definition
        guard case .parallel(var steps) = broken.stages[1] else { Issue.record("stage 2 is parallel"); return }
        steps[1].fallback?.route = "payment/primary"
        steps[1].breaker = BreakerPolicy(threshold: 0, openSeconds: 0, halfOpenTrials: 0)
        broken.stages[1] = .parallel(steps)
        let problems = (#expect(throws: DefinitionError.self) { try broken.validate() })?.problems.joined(separator: "\n") ?? ""
        #expect(problems.contains("its fallback takes the same route 'payment/primary'"))
        #expect(problems.contains("breaker threshold must be 1 or more"))
        #expect(problems.contains("breaker openSeconds must be positive"))
    }
}
