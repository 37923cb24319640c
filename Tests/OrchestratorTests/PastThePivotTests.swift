import Contracts
import Foundation
import Messaging
@testable import OrchestratorCore
import Testing

extension EngineDriver {
    /// Replies success to every step up to and including the pivot (the shipment).
    mutating func throughShipment() throws {
        try reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        try reply("reserve-stock", StockReserved(orderID: "o1"))
        try reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "A", amount: 25, processor: .primary))
        try reply("schedule-shipment", ShipmentScheduled(orderID: "o1", carrier: "G", trackingNumber: "T", labelReference: "L", fee: 5, priority: false))
    }

    func events(_ kind: SagaEvent.Kind, step: String? = nil) -> [SagaEvent] {
        saga.history.filter { $0.event == kind && (step == nil || $0.step == step) }
    }
}

@Suite("Saga engine: after the point of no return")
struct PastThePivotTests {
    @Test("a retriable step survives ten minutes of participant outage and completes; nothing is compensated")
    func tenMinuteOutage() throws {
        var driver = try EngineDriver()
        try driver.throughShipment()
        try driver.reply("commit-stock", StockCommitted(orderID: "o1", lines: []))
        #expect(driver.commands("capture-payment").count == 1)

        // Payment does not answer for ten minutes: every capture times out.
        let outageEnds = driver.now.addingTimeInterval(600)
        while driver.now < outageEnds {
            driver.advance(by: 1)
            #expect(driver.saga.status == .running, "never compensated, never failed")
        }
        let attempts = driver.commands("capture-payment").count
        // Timeout 3 s, backoff 0.2 s doubling to 10 s: about one attempt every 13 s once capped.
        #expect(attempts >= 40 && attempts <= 60, "\(attempts) attempts in ten minutes")
        #expect(driver.status("capture-payment") == .running || driver.status("capture-payment") == .waitingRetry)
        #expect(driver.events(.stuck, step: "capture-payment").count == 1, "the stuck signal is raised once")
        let stuck = try #require(driver.events(.stuck, step: "capture-payment").first)
        #expect(stuck.at.timeIntervalSince(driver.saga.steps["capture-payment"]!.startedAt!) >= 60)
        #expect(driver.saga.steps["capture-payment"]?.stuckSince != nil)
        #expect(driver.events(.compensationStarted).isEmpty)
        #expect(driver.sent.allSatisfy { !($0.message is CancelShipment || $0.message is ReleaseStock || $0.message is ReversePayment) })

        // Payment is back: the next capture is answered.
        while driver.saga.steps["capture-payment"]?.pendingMessageID == nil { driver.advance(by: 1) }
        try driver.reply("capture-payment", PaymentCaptured(orderID: "o1", amount: 25))
        #expect(driver.saga.status == .completed)
        #expect(driver.saga.steps["capture-payment"]?.stuckSince == nil)
    }

    @Test("an open circuit delays a step after the pivot without using its attempts; the half-open trial lets it through")
    func openCircuitDelays() throws {
        let breakers = CircuitBreakers(threshold: 1, openDuration: .seconds(10))
        var driver = try EngineDriver(breakers: breakers)
        try driver.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        try driver.reply("reserve-stock", StockReserved(orderID: "o1"))
        try driver.reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "A", amount: 25, processor: .primary))
        // Another order's failure opens the payment circuit just before our capture is due.
        breakers.recordFailure("payment/payment.capture.v1", policy: nil, now: driver.now)
        try driver.reply("schedule-shipment", ShipmentScheduled(orderID: "o1", carrier: "G", trackingNumber: "T", labelReference: "L", fee: 5, priority: false))

        #expect(driver.commands("capture-payment").isEmpty, "nothing sent while the circuit is open")
        #expect(driver.saga.steps["capture-payment"]?.attempts.isEmpty == true, "no attempt used")
        #expect(driver.status("capture-payment") == .waitingRetry)
        #expect(driver.events(.waitingForCircuit, step: "capture-payment").count == 1)
        #expect(!driver.commands("commit-stock").isEmpty, "the other participant's step goes on")

        driver.advance(by: 9.9)
        #expect(driver.commands("capture-payment").isEmpty)
        driver.advance(by: 0.2)
        #expect(driver.commands("capture-payment").count == 1, "the half-open trial")
        #expect(driver.saga.steps["capture-payment"]?.attempts.count == 1)
        try driver.reply("capture-payment", PaymentCaptured(orderID: "o1", amount: 25))
        #expect(breakers.state("payment/payment.capture.v1", now: driver.now) == .closed)
        try driver.reply("commit-stock", StockCommitted(orderID: "o1", lines: []))
        #expect(driver.saga.status == .completed)
    }

    @Test("a step after the pivot refused for good leaves the order needing attention; a retry drives it again")
    func refusedAfterPivot() throws {
        var driver = try EngineDriver()
        try driver.throughShipment()
        try driver.reply("commit-stock", StockCommitted(orderID: "o1", lines: []))
        try driver.reply("capture-payment", CommandRejected(service: "payment", commandType: CapturePayment.messageType, reason: "no authorization to capture"))
        #expect(driver.saga.status == .needsAttention)
        #expect(driver.saga.status.isFinished)
        #expect(driver.saga.attention?.first?.hasPrefix("capture-payment: payment.capture.v1 refused") == true)
        #expect(driver.events(.stepRefusedAfterPivot, step: "capture-payment").count == 1)
        #expect(driver.events(.compensationStarted).isEmpty, "nothing is undone after the pivot")

        let resent = try #require(driver.engine.redrive(&driver.saga, driver.definition, now: driver.now))
        driver.sent += resent
        #expect(resent.map(\.step) == ["capture-payment"])
        #expect(driver.saga.status == .running)
        try driver.reply("capture-payment", PaymentCaptured(orderID: "o1", amount: 25))
        #expect(driver.saga.status == .completed)
        #expect(driver.engine.redrive(&driver.saga, driver.definition, now: driver.now) == nil, "only an order that needs attention can be re-driven")
    }

    @Test("a refused compensation ends needing attention with what is left; a retry finishes the compensation")
    func refusedCompensation() throws {
        var driver = try EngineDriver()
        try driver.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        try driver.reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "A", amount: 25, processor: .primary))
        try driver.reply("reserve-stock", StockReservationFailed(orderID: "o1", shortSKUs: ["SKU-COFFEE"]))
        #expect(driver.saga.status == .compensating)
        let reverse = try #require(driver.commands("authorize-payment").last?.message as? ReversePayment)
        #expect(reverse.orderID == "o1")
        #expect(driver.events(.commandSent, step: "authorize-payment").last?.detail == "payment.reverse.v1 compensation attempt 1")
        try driver.reply("authorize-payment", CommandRejected(service: "payment", commandType: ReversePayment.messageType, reason: "processor refuses"))
        #expect(driver.saga.status == .needsAttention)
        #expect(driver.saga.attention == ["authorize-payment: payment.reverse.v1 refused: payment refused payment.reverse.v1: processor refuses"])
        #expect(driver.status("authorize-payment") == .compensationFailed)

        driver.sent += try #require(driver.engine.redrive(&driver.saga, driver.definition, now: driver.now))
        #expect(driver.saga.status == .compensating)
        #expect(driver.sent.last?.message is ReversePayment)
        #expect(driver.events(.commandSent, step: "authorize-payment").last?.detail == "payment.reverse.v1 compensation attempt 2")
        try driver.reply("authorize-payment", PaymentVoided(orderID: "o1", amount: 25))
        #expect(driver.saga.status == .compensated)
        #expect(driver.saga.attention == nil)
    }

    @Test("a compensation that keeps timing out is retried until it succeeds, and raises the stuck signal")
    func compensationRetriedUntilDone() throws {
        var driver = try EngineDriver()
        try driver.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        try driver.reply("reserve-stock", StockReserved(orderID: "o1"))
        try driver.reply("authorize-payment", PaymentDeclined(orderID: "o1", reason: "limit"))
        #expect(driver.saga.status == .compensating)
        for _ in 0..<120 { driver.advance(by: 1) }
        #expect(driver.saga.status == .compensating, "not given up after two minutes")
        #expect(driver.commands("reserve-stock").filter { $0.message is ReleaseStock }.count > 5)
        #expect(driver.events(.stuck, step: "reserve-stock").count == 1)
        while driver.saga.steps["reserve-stock"]?.pendingMessageID == nil { driver.advance(by: 1) }
        try driver.reply("reserve-stock", StockReleased(orderID: "o1", lines: []))
        #expect(driver.saga.status == .compensated)
    }

    @Test("a step that failed after a timeout may have acted, so it is compensated too")
    func uncertainStepCompensated() throws {
        var driver = try EngineDriver()
        try driver.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        try driver.reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "A", amount: 25, processor: .primary))
        // Inventory never answers: three attempts time out and the step fails.
        for _ in 0..<40 { driver.advance(by: 0.5) }
        #expect(driver.status("reserve-stock") == .compensating || driver.status("reserve-stock") == .compensated || driver.saga.status == .compensating)
        #expect(driver.saga.steps["reserve-stock"]?.uncertain == true)
        let compensations = driver.sent.filter { $0.message is ReleaseStock || $0.message is ReversePayment }
        #expect(compensations.first?.message is ReleaseStock, "the uncertain reservation is released first")
    }

    @Test("a late reply to the forward command is not taken as the compensation's answer")
    func lateForwardReplyDuringCompensation() throws {
        var driver = try EngineDriver()
        try driver.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        try driver.reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "A", amount: 25, processor: .primary))
        let firstReserve = try #require(driver.commands("reserve-stock").first)
        for _ in 0..<40 where driver.status("reserve-stock") != .compensating { driver.advance(by: 0.5) }
        #expect(driver.status("reserve-stock") == .compensating)
        let envelope = try Envelope(StockReserved(orderID: "o1"), correlationID: "o1", causationID: firstReserve.messageID)
        driver.sent += driver.engine.reply(&driver.saga, driver.definition, causationID: firstReserve.messageID, messageType: envelope.messageType,
                                           outcome: try driver.engine.catalog.replies[envelope.messageType]!(envelope), now: driver.now)
        #expect(driver.status("reserve-stock") == .compensating, "still waiting for the release")
        #expect(driver.events(.lateReplyIgnored).count == 1)
    }

    @Test("a command resumed after a restart that then times out does not count against its participant's circuit")
    func resumedTimeoutSparesBreaker() throws {
        let breakers = CircuitBreakers(threshold: 1, openDuration: .seconds(10))
        var driver = try EngineDriver(breakers: breakers)
        driver.now = driver.now.addingTimeInterval(2) // the orchestrator was down for two seconds
        driver.engine.resume(&driver.saga, driver.definition, now: driver.now)
        #expect(driver.events(.resumedAfterRestart).count == 1)
        driver.advance(by: 3.1)
        #expect(driver.events(.timedOut, step: "verify-customer").count == 1)
        #expect(breakers.state("profile/profile.verify-customer.v1", now: driver.now) == .closed, "the broker may have lost it: not the participant's fault")
        driver.advance(by: 0.2)
        #expect(driver.commands("verify-customer").count == 2, "retried")
        driver.advance(by: 3.1)
        #expect(breakers.state("profile/profile.verify-customer.v1", now: driver.now) == .open, "a command sent after the restart counts")
    }

    @Test("a step before the pivot without a fallback fails fast while its circuit is open")
    func failFastBeforePivot() throws {
        let breakers = CircuitBreakers(threshold: 1, openDuration: .seconds(10))
        breakers.recordFailure("profile/profile.verify-customer.v1", policy: nil, now: Date(timeIntervalSince1970: 1_000_000))
        let driver = try EngineDriver(breakers: breakers)
        #expect(driver.commands("verify-customer").isEmpty)
        #expect(driver.status("verify-customer") == .failed)
        #expect(driver.saga.status == .failed)
        #expect(driver.events(.circuitOpen, step: "verify-customer").first?.detail == "profile/profile.verify-customer.v1: failing fast")
    }
}

@Suite("Saga definitions: the pivot")
struct PivotValidationTests {
    @Test("a step after the pivot cannot have a compensation or fallback; the pivot must exist and stand alone")
    func validation() throws {
        var definition = CheckoutDefinition.definition
        guard case .parallel(var last) = definition.stages[4] else { Issue.record("stage 5 is parallel"); return }
        last[0].compensation = "payment.refund.v1"
        last[1].fallback = .init(set: ["x": .bool(true)])
        definition.stages[4] = .parallel(last)
        var problems = (#expect(throws: DefinitionError.self) { try definition.validate() })?.problems.joined(separator: "\n") ?? ""
        #expect(problems.contains("step 'capture-payment' comes after the pivot 'schedule-shipment': it is retried until it succeeds and never compensated, so it cannot have a compensation"))
        #expect(problems.contains("step 'commit-stock' comes after the pivot 'schedule-shipment': it cannot have a fallback"))

        var parallelPivot = CheckoutDefinition.definition
        parallelPivot.pivot = "reserve-stock"
        problems = (#expect(throws: DefinitionError.self) { try parallelPivot.validate() })?.problems.joined(separator: "\n") ?? ""
        #expect(problems.contains("the pivot 'reserve-stock' must be a stage of its own"))

        var unknown = CheckoutDefinition.definition
        unknown.pivot = "launch-rocket"
        problems = (#expect(throws: DefinitionError.self) { try unknown.validate() })?.problems.joined(separator: "\n") ?? ""
        #expect(problems.contains("the pivot 'launch-rocket' is not a step of this saga"))
    }

    @Test("without a pivot every step is compensatable, as in version 1")
    func noPivot() throws {
        var definition = CheckoutDefinition.definition
        definition.pivot = nil
        #expect(!definition.isRetriable("capture-payment"))
    }
}

@Suite("Saga definitions: values the document allows")
struct SettableValueTests {
    @Test("decisions, fallbacks and conditions use strings, booleans, null or whole numbers; anything else is a problem named")
    func settable() throws {
        let json = #"""
        {"name": "odd", "version": 1, "stages": [
          {"step": {"id": "verify-customer", "participant": "profile", "command": "profile.verify-customer.v1"}},
          {"decide": {"id": "choose", "when": {"equals": {"path": "customer.tier", "value": [1]}}, "then": {"x.list": [1, 2]}, "otherwise": {"x.ok": "yes", "x.n": 2.5}}}
        ]}
        """#
        let definition = try MessageCoding.decode(SagaDefinition.self, from: Data(json.utf8))
        let problems = (#expect(throws: DefinitionError.self) { try definition.validate() })?.problems.joined(separator: "\n") ?? ""
        #expect(problems.contains("decision 'choose' sets 'x.list' to [1, 2]"))
        #expect(problems.contains("decision 'choose' sets 'x.n' to 2.5"))
        #expect(problems.contains("decision 'choose' compares with [1]"))
        #expect(!problems.contains("x.ok"))
    }
}
