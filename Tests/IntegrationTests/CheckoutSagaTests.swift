import Contracts
import Foundation
import Messaging
import OrchestratorCore
import PaymentCore
import ServiceKit
import Testing

@Suite("Checkout saga over a real broker")
struct CheckoutSagaTests {
    @Test("happy path: completed, stock committed, payment captured once, shipment scheduled")
    func happyPath() async throws {
        let stack = try await StackHarness.make()
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { runner in
            let (id, _) = try await runner.place(stack.order("bob", [("SKU-COFFEE", 2, "12.50")]), idempotencyKey: nil)
            let saga = try await stack.finished(runner, id)
            #expect(saga.status == .completed)
            #expect(try await stack.stock("SKU-COFFEE") == (98, 0))
            #expect(try await stack.reservations(id) == ["committed"])
            #expect(try await stack.ledger(id) == ["authorize", "capture"])
            #expect(try await stack.payment(id)?.status == "captured")
            let shipment = try #require(try await stack.shipment(id))
            #expect(shipment.status == "scheduled" && shipment.carrier == "GroundPost" && shipment.fee == 599 && !shipment.priority)
        }
    }

    @Test("a declined payment compensates: stock released, nothing captured")
    func decline() async throws {
        let stack = try await StackHarness.make()
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { runner in
            let (id, _) = try await runner.place(stack.order("alice", [("SKU-MUG", 3, "7.50")], card: "4000000000000002"), idempotencyKey: nil)
            let saga = try await stack.finished(runner, id)
            #expect(saga.status == .compensated)
            #expect(saga.failure?.contains("declined") == true)
            #expect(try await stack.stock("SKU-MUG") == (50, 0))
            #expect(try await stack.reservations(id) == ["released"])
            // Declined, and nothing else: one entry, or one per attempt when a slow machine
            // made the step time out and retry (each retry is a new command, declined again).
            let ledger = try await stack.ledger(id)
            #expect(!ledger.isEmpty && ledger.allSatisfy { $0 == "decline" }, "\(ledger)")
            #expect(try await stack.shipment(id) == nil)
        }
    }

    @Test("a blocked or unknown customer fails at the first step; nothing is reserved or authorized", arguments: ["mallory", "nobody"])
    func rejectedCustomer(customer: String) async throws {
        let stack = try await StackHarness.make()
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { runner in
            let (id, _) = try await runner.place(stack.order(customer, [("SKU-COFFEE", 1, "12.50")]), idempotencyKey: nil)
            let saga = try await stack.finished(runner, id)
            #expect(saga.status == .failed)
            #expect(saga.failure?.hasPrefix("verify-customer:") == true)
            #expect(saga.steps["reserve-stock"]?.status == .pending)
            #expect(saga.steps["authorize-payment"]?.status == .pending)
            #expect(try await stack.reservations(id).isEmpty)
            #expect(try await stack.payment(id) == nil)
        }
    }

    @Test("with the primary processor failing, the backup authorizes and the order completes")
    func backupProcessor() async throws {
        let stack = try await StackHarness.make(processors: PaymentProcessors(primary: .init(failureRate: 1)))
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { runner in
            let (id, _) = try await runner.place(stack.order("bob", [("SKU-COFFEE", 1, "12.50")]), idempotencyKey: nil)
            let saga = try await stack.finished(runner, id)
            #expect(saga.status == .completed)
            let attempts = saga.steps["authorize-payment"]?.attempts ?? []
            #expect(attempts.filter { !$0.fallback }.count == 2, "the primary was retried per policy")
            #expect(attempts.last?.fallback == true)
            #expect(try await stack.payment(id)?.processor == "backup")
            #expect(try await stack.ledger(id) == ["processor-error", "processor-error", "authorize", "capture"])
        }
    }

    @Test("premium customer over 100 ships free with priority; a standard customer pays normal shipping")
    func shippingRule() async throws {
        let stack = try await StackHarness.make()
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { runner in
            let (premium, _) = try await runner.place(stack.order("bob", [("SKU-COFFEE", 10, "12.50")]), idempotencyKey: nil)
            let (standard, _) = try await runner.place(stack.order("alice", [("SKU-COFFEE", 10, "12.50")]), idempotencyKey: nil)
            #expect(try await stack.finished(runner, premium).status == .completed)
            #expect(try await stack.finished(runner, standard).status == .completed)
            let free = try #require(try await stack.shipment(premium))
            #expect(free.fee == 0 && free.priority && free.carrier == "SwiftExpress")
            let paid = try #require(try await stack.shipment(standard))
            #expect(paid.fee == 599 && !paid.priority && paid.carrier == "GroundPost")
        }
    }

    @Test("out of stock: payment voided, order compensated, short SKUs in the history")
    func outOfStock() async throws {
        let stack = try await StackHarness.make()
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { runner in
            let (id, _) = try await runner.place(stack.order("alice", [("SKU-RARE", 2, "19.00"), ("SKU-MUG", 1, "7.50")]), idempotencyKey: nil)
            let saga = try await stack.finished(runner, id)
            #expect(saga.status == .compensated)
            #expect(saga.history.contains { $0.step == "reserve-stock" && $0.detail?.contains("SKU-RARE") == true })
            #expect(!saga.history.contains { $0.detail?.contains("SKU-MUG") == true }, "only the short SKU is named")
            #expect(try await stack.ledger(id) == ["authorize", "void"])
            #expect(try await stack.payment(id)?.status == "voided")
            #expect(try await stack.stock("SKU-RARE") == (1, 0))
            #expect(try await stack.stock("SKU-MUG") == (50, 0))
        }
    }

    @Test("a participant that does not answer is retried per policy, then the saga compensates, the unanswered step included")
    func participantNotAnswering() async throws {
        let stack = try await StackHarness.make(faults: ["shipping": FaultPlan(rules: [ScheduleShipment.messageType: .init(dropRate: 1)])])
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { runner in
            let (id, _) = try await runner.place(stack.order("alice", [("SKU-MUG", 1, "7.50")]), idempotencyKey: nil)
            let saga = try await stack.finished(runner, id, timeout: .seconds(60))
            #expect(saga.status == .compensated)
            let shipping = try #require(saga.steps["schedule-shipment"])
            // It timed out, so it may have acted: its compensation is sent too.
            #expect(shipping.status == .compensated)
            #expect(shipping.attempts.filter { $0.command == ScheduleShipment.messageType }.count == 3)
            #expect(shipping.attempts.filter { $0.command == ScheduleShipment.messageType }.allSatisfy { $0.result == "timed out" })
            #expect(shipping.attempts.last?.command == CancelShipment.messageType)
            #expect(try await stack.ledger(id) == ["authorize", "void"])
            #expect(try await stack.stock("SKU-MUG") == (50, 0))
            #expect(try await stack.reservations(id) == ["released"])
        }
    }

    @Test("the same Idempotency-Key twice makes one order")
    func idempotencyKey() async throws {
        let stack = try await StackHarness.make()
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { runner in
            let order = stack.order("bob", [("SKU-COFFEE", 1, "12.50")])
            let (first, created) = try await runner.place(order, idempotencyKey: "key-123")
            let (second, again) = try await runner.place(order, idempotencyKey: "key-123")
            #expect(created && !again)
            #expect(first == second)
            _ = try await stack.finished(runner, first)
            #expect(try await runner.sagas(status: nil, customer: "bob", limit: 10, offset: 0).count == 1)
            #expect(try await stack.ledger(first) == ["authorize", "capture"])
        }
    }

    @Test("the orchestrator killed mid-saga and restarted on the same database finishes every saga, charging once")
    func crashAndResume() async throws {
        // Slow payments keep the sagas in flight when the orchestrator goes away.
        let stack = try await StackHarness.make(faults: ["payment": FaultPlan(rules: ["*": .init(latency: .milliseconds(300))])])
        let first = try await stack.openOrchestrator()
        let orders: [String] = try await stack.runningParticipants {
            let ids = try await stack.run(first) { runner in
                var ids: [String] = []
                for index in 0..<6 {
                    ids.append(try await runner.place(stack.order(index % 2 == 0 ? "bob" : "alice", [("SKU-COFFEE", 1, "12.50")]), idempotencyKey: nil).orderID)
                }
                try await eventually("sagas in flight") {
                    let sagas = try await runner.sagas(status: nil, customer: nil, limit: 10, offset: 0)
                    return sagas.contains { $0.status == .running && $0.steps["verify-customer"]?.status == .succeeded }
                }
                return ids
            }
            // The first orchestrator's tasks are gone (cancelled, no shutdown); like a dead
            // process, its database connection goes too. A new one opens the same database.
            try await first.0.runner.database.close()
            // What this test is about is the restart, not the breakers: on a loaded machine
            // (the whole suite at once) a reply can take longer than the step's 3 s timeout,
            // and six sagas timing out together would open shipping's circuit (5 failures)
            // and fail the pivot fast. Here a timeout is retried as the definition says.
            let second = try await stack.openOrchestrator(breakers: CircuitBreakers(threshold: 100, openDuration: .seconds(1)))
            try await stack.run(second) { runner in
                for id in ids {
                    let saga = try await stack.finished(runner, id, timeout: .seconds(60))
                    #expect(saga.status == .completed, "\(saga.failure ?? "") \(saga.history.map { "\($0.step ?? "-") \($0.event.rawValue) \($0.detail ?? "")" })")
                }
            }
            return ids
        }
        for id in orders {
            #expect(try await stack.ledger(id) == ["authorize", "capture"], "order \(id) charged once")
        }
        #expect(try await stack.stock("SKU-COFFEE") == (94, 0))
    }
}
