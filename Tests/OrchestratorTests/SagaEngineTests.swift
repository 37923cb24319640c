import Contracts
import Foundation
import Messaging
@testable import OrchestratorCore
import Testing

/// The engine driven by hand: replies and a clock under the test's control.
struct EngineDriver {
    var engine: SagaEngine
    var definition: SagaDefinition
    var saga: SagaInstance
    var now: Date
    var sent: [OutgoingCommand] = []

    init(definition: SagaDefinition = CheckoutDefinition.definition, customer: String = "bob", total: String = "25.00", breakers: CircuitBreakers = CircuitBreakers()) throws {
        engine = SagaEngine(breakers: breakers)
        self.definition = definition
        now = Date(timeIntervalSince1970: 1_000_000)
        let request = OrderRequest(
            customerID: customer,
            items: [.init(sku: "SKU-COFFEE", quantity: 1, unitPrice: Money(total)!)],
            payment: .init(card: "4111111111111111"),
            shipTo: Address(name: "B", line1: "1", city: "C", postalCode: "1", country: "US")
        )
        saga = SagaInstance(id: "o1", definition: definition, customerID: customer, data: try request.sagaData(orderID: "o1"), now: now)
        sent = engine.start(&saga, definition, now: now)
    }

    /// The commands sent so far for `step`.
    func commands(_ step: String) -> [OutgoingCommand] { sent.filter { $0.step == step } }

    mutating func reply(_ step: String, _ message: some MessageContract) throws {
        let command = try #require(commands(step).last)
        let envelope = try Envelope(message, correlationID: saga.id, causationID: command.messageID)
        let interpret = try #require(engine.catalog.replies[envelope.messageType])
        let outcome = try interpret(envelope)
        sent += engine.reply(&saga, definition, causationID: command.messageID, messageType: envelope.messageType, outcome: outcome, now: now)
    }

    mutating func advance(by seconds: TimeInterval) {
        now = now.addingTimeInterval(seconds)
        sent += engine.tick(&saga, definition, now: now)
    }

    func status(_ step: String) -> StepStatus? { saga.steps[step]?.status }
}

@Suite("Saga engine")
struct SagaEngineTests {
    @Test("reserve and authorize start together after verification; the saga waits for both")
    func parallelJoin() throws {
        var driver = try EngineDriver()
        #expect(driver.sent.map(\.step) == ["verify-customer"])
        try driver.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        #expect(Set(driver.sent.dropFirst().map(\.step)) == ["reserve-stock", "authorize-payment"])
        try driver.reply("reserve-stock", StockReserved(orderID: "o1"))
        #expect(driver.commands("schedule-shipment").isEmpty, "still waiting for the payment")
        try driver.reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "A", amount: 25, processor: .primary))
        let shipment = try #require(driver.commands("schedule-shipment").first?.message as? ScheduleShipment)
        #expect(!shipment.priority && !shipment.free, "standard customer: no perk")
        try driver.reply("schedule-shipment", ShipmentScheduled(orderID: "o1", carrier: "G", trackingNumber: "T", labelReference: "L", fee: 5, priority: false))
        try driver.reply("capture-payment", PaymentCaptured(orderID: "o1", amount: 25))
        #expect(driver.saga.status == .running)
        try driver.reply("commit-stock", StockCommitted(orderID: "o1", lines: []))
        #expect(driver.saga.status == .completed)
        #expect(driver.saga.data[path: "payment.authorizationId"] == .string("A"))
    }

    @Test("premium orders over 100 get free priority shipping")
    func decision() throws {
        var driver = try EngineDriver(total: "150.00")
        try driver.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .premium))
        try driver.reply("reserve-stock", StockReserved(orderID: "o1"))
        try driver.reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "A", amount: 150, processor: .primary))
        let shipment = try #require(driver.commands("schedule-shipment").first?.message as? ScheduleShipment)
        #expect(shipment.priority && shipment.free)
    }

    @Test("a failure compensates completed steps one at a time, in reverse order of completion")
    func compensationOrder() throws {
        var driver = try EngineDriver()
        try driver.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        try driver.reply("authorize-payment", PaymentAuthorized(orderID: "o1", authorizationID: "A", amount: 25, processor: .primary))
        try driver.reply("reserve-stock", StockReserved(orderID: "o1"))
        try driver.reply("schedule-shipment", CommandFailed(service: "shipping", commandType: "x", reason: "down", retriable: false))
        // Shipping keeps failing technically until its retries are used up.
        driver.advance(by: 0.2)
        try driver.reply("schedule-shipment", CommandFailed(service: "shipping", commandType: "x", reason: "down"))
        driver.advance(by: 0.4)
        try driver.reply("schedule-shipment", CommandFailed(service: "shipping", commandType: "x", reason: "down"))
        #expect(driver.status("schedule-shipment") == .failed)
        #expect(driver.saga.status == .compensating)
        let compensations = driver.sent.filter { $0.message is ReleaseStock || $0.message is ReversePayment }
        #expect(compensations.count == 1, "one compensation at a time")
        #expect(compensations.first?.message is ReleaseStock, "reserve completed last, so it is undone first")
        try driver.reply("reserve-stock", StockReleased(orderID: "o1", lines: []))
        #expect(driver.sent.last?.message is ReversePayment)
        try driver.reply("authorize-payment", PaymentVoided(orderID: "o1", amount: 25))
        #expect(driver.saga.status == .compensated)
        #expect(driver.status("reserve-stock") == .compensated && driver.status("authorize-payment") == .compensated)
    }

    @Test("a technical failure is retried after the policy's backoff, then the step fails")
    func retryBackoff() throws {
        var driver = try EngineDriver()
        try driver.reply("verify-customer", CommandFailed(service: "profile", commandType: "x", reason: "boom"))
        #expect(driver.commands("verify-customer").count == 1)
        #expect(driver.status("verify-customer") == .waitingRetry)
        driver.advance(by: 0.1)
        #expect(driver.commands("verify-customer").count == 1, "backoff 200 ms not over")
        driver.advance(by: 0.1)
        #expect(driver.commands("verify-customer").count == 2)
        try driver.reply("verify-customer", CommandFailed(service: "profile", commandType: "x", reason: "boom"))
        driver.advance(by: 0.3)
        #expect(driver.commands("verify-customer").count == 2, "second backoff is 400 ms")
        driver.advance(by: 0.1)
        #expect(driver.commands("verify-customer").count == 3)
        try driver.reply("verify-customer", CommandFailed(service: "profile", commandType: "x", reason: "boom"))
        #expect(driver.status("verify-customer") == .failed)
        #expect(driver.saga.status == .failed, "nothing to compensate")
    }

    @Test("no reply within the timeout counts as a failure; a late definite reply is still taken")
    func timeout() throws {
        var driver = try EngineDriver()
        driver.advance(by: 2.9)
        #expect(driver.status("verify-customer") == .running)
        driver.advance(by: 0.2)
        #expect(driver.status("verify-customer") == .waitingRetry)
        #expect(driver.saga.history.contains { $0.event == .timedOut })
        // The first attempt's reply arrives after all.
        let first = try #require(driver.commands("verify-customer").first)
        let envelope = try Envelope(CustomerVerified(customerID: "bob", tier: .standard), correlationID: "o1", causationID: first.messageID)
        driver.sent += driver.engine.reply(&driver.saga, driver.definition, causationID: first.messageID, messageType: envelope.messageType,
                                           outcome: try driver.engine.catalog.replies[envelope.messageType]!(envelope), now: driver.now)
        #expect(driver.status("verify-customer") == .succeeded)
        #expect(!driver.commands("reserve-stock").isEmpty)
    }

    @Test("payment falls back to the backup processor when the primary keeps failing")
    func fallback() throws {
        var driver = try EngineDriver()
        try driver.reply("verify-customer", CustomerVerified(customerID: "bob", tier: .standard))
        try driver.reply("authorize-payment", PaymentFailed(orderID: "o1", processor: .primary, reason: "down"))
        driver.advance(by: 0.2)
        try driver.reply("authorize-payment", PaymentFailed(orderID: "o1", processor: .primary, reason: "down"))
        let commands = driver.commands("authorize-payment").compactMap { $0.message as? AuthorizePayment }
        #expect(commands.map(\.processor) == [.primary, .primary, .backup])
        #expect(driver.saga.history.contains { $0.event == .fallingBack })
    }
}

@Suite("Saga definitions")
struct SagaDefinitionTests {
    @Test("the checkout definition is valid and round-trips through JSON")
    func checkout() throws {
        let definition = CheckoutDefinition.definition
        try definition.validate()
        #expect(definition.key == "checkout@2")
        #expect(definition.pivot == "schedule-shipment")
        #expect(definition.isRetriable("capture-payment") && definition.isRetriable("commit-stock"))
        #expect(!definition.isRetriable("schedule-shipment") && !definition.isRetriable("reserve-stock"))
        #expect(definition.steps.map(\.id) == ["verify-customer", "reserve-stock", "authorize-payment", "schedule-shipment", "capture-payment", "commit-stock"])
        let again = try MessageCoding.decode(SagaDefinition.self, from: MessageCoding.encode(definition))
        #expect(again == definition)
    }

    @Test("validation names unknown participants, missing compensations and unreachable steps")
    func validation() throws {
        var definition = CheckoutDefinition.definition
        guard case .parallel(var steps) = definition.stages[1] else { Issue.record("stage 2 is parallel"); return }
        steps[0].compensation = nil
        steps[1].participant = "billing"
        definition.stages[1] = .parallel(steps)
        definition.stages.append(.step(.init(id: "loyalty", participant: "profile", command: "profile.verify-customer.v1",
                                             when: .equals(path: "loyalty.level", value: .string("gold")))))
        let error = #expect(throws: DefinitionError.self) { try definition.validate() }
        let problems = error?.problems.joined(separator: "\n") ?? ""
        #expect(problems.contains("step 'reserve-stock': inventory.reserve-stock.v1 changes state and later stages can fail, but it has no compensation"))
        #expect(problems.contains("step 'authorize-payment': unknown participant 'billing'"))
        #expect(problems.contains("step 'loyalty' is unreachable: its condition reads 'loyalty.level'"))
    }

    @Test("predicates compare decimals exactly and treat missing paths as false")
    func predicates() throws {
        var data = JSONValue.object([:])
        data.set("order.total", to: .string("100.00"))
        data.set("customer.tier", to: .string("premium"))
        #expect(!Predicate.greaterThan(path: "order.total", value: .string("100")).evaluate(data))
        #expect(Predicate.greaterThan(path: "order.total", value: .number(99.99)).evaluate(data))
        #expect(Predicate.equals(path: "order.total", value: .string("100")).evaluate(data))
        #expect(Predicate.all([.equals(path: "customer.tier", value: .string("premium")), .exists(path: "order.total")]).evaluate(data))
        #expect(!Predicate.any([.exists(path: "nothing.here"), .lessThan(path: "nothing", value: .number(1))]).evaluate(data))
        #expect(Predicate.not(.exists(path: "nothing")).evaluate(data))
        let json = #"{"all":[{"equals":{"path":"customer.tier","value":"premium"}},{"greaterThan":{"path":"order.total","value":"50"}}]}"#
        #expect(try MessageCoding.decode(Predicate.self, from: Data(json.utf8)).evaluate(data))
    }

    @Test("the Mermaid export shows every step, the parallel groups and the compensations")
    func mermaid() {
        let text = CheckoutDefinition.definition.mermaid
        #expect(text.hasPrefix("flowchart TD\n"))
        for id in ["s_verify_customer", "s_reserve_stock", "s_authorize_payment", "s_schedule_shipment", "s_capture_payment", "s_commit_stock", "fork1", "join1", "s_premium_shipping"] {
            #expect(text.contains(id), "\(id)")
        }
        #expect(text.contains("undo: payment.reverse.v1"))
        #expect(text.contains("pivot: point of no return"))
        #expect(text.contains("retried until it succeeds"))
        #expect(text.contains("fallback: payment.processor=\"backup\""))
    }
}
