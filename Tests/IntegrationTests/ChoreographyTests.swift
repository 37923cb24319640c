import Contracts
import Foundation
import InventoryCore
import Kafka
import Messaging
import MessagingTesting
import OrchestratorCore
import PaymentCore
import SQLKit
import ServiceKit
import ServiceLifecycle
import Storage
import Testing

/// The choreographed checkout over the real broker: the four participants and the
/// orchestrator's intake and tracker, no saga. Each test asserts every service's data.
@Suite("Choreographed checkout over a real broker", .serialized)
struct ChoreographyTests {
    @Test("happy path, premium over 100, decline, out of stock, blocked customer: each service's data as the rules say")
    func rules() async throws {
        let stack = try await StackHarness.make()
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { _ in
            let intake = orchestrator.0.intake
            let happy = try await stack.choreographed(intake, stack.order("bob", [("SKU-COFFEE", 2, "12.50")]))
            let premium = try await stack.choreographed(intake, stack.order("bob", [("SKU-COFFEE", 10, "12.50")]))
            let declined = try await stack.choreographed(intake, stack.order("alice", [("SKU-MUG", 1, "7.50")], card: "4000000000000002"))
            let short = try await stack.choreographed(intake, stack.order("bob", [("SKU-RARE", 2, "199.00")]))
            let blocked = try await stack.choreographed(intake, stack.order("mallory", [("SKU-MUG", 1, "7.50")]))

            let happyView = try await stack.finished(intake, happy)
            #expect(happyView.status == .completed)
            #expect(try await stack.ledger(happy) == ["authorize", "capture"], "captured once")
            #expect(try await stack.reservations(happy) == ["committed"])
            let shipment = try #require(try await stack.shipment(happy))
            #expect(shipment.status == "scheduled" && !shipment.priority && shipment.fee == 599, "25.00 is under the premium threshold")

            #expect(try await stack.finished(intake, premium).status == .completed)
            let free = try #require(try await stack.shipment(premium))
            #expect(free.priority && free.fee == 0 && free.carrier == "SwiftExpress", "premium over 100: free priority, decided by shipping")

            let declinedView = try await stack.finished(intake, declined)
            #expect([.compensated, .failed].contains(declinedView.status))
            #expect(declinedView.failure?.contains("declined") == true)
            #expect(try await stack.payment(declined)?.status == "declined")
            #expect(try await stack.reservations(declined).allSatisfy { $0 == "released" }, "released, or never reserved")
            #expect(try await stack.shipment(declined) == nil)

            let shortView = try await stack.finished(intake, short)
            #expect(shortView.failure?.contains("SKU-RARE") == true)
            #expect(try await stack.reservations(short).isEmpty)
            #expect(["voided", nil].contains(try await stack.payment(short)?.status), "voided, or never authorized")
            #expect(try await !stack.ledger(short).contains("capture"))

            let blockedView = try await stack.finished(intake, blocked)
            #expect(blockedView.status == .failed && blockedView.failure == "customer blocked")
            #expect(try await stack.reservations(blocked).isEmpty)
            #expect(try await stack.payment(blocked) == nil)

            // Stock: 2 + 10 coffees sold, the mug and the rare item back where they were.
            #expect(try await stack.stock("SKU-COFFEE") == (88, 0))
            #expect(try await stack.stock("SKU-MUG") == (50, 0))
            #expect(try await stack.stock("SKU-RARE") == (1, 0))
        }
    }

    @Test("out of stock while the processor is still answering: the authorization that arrives after the shortage is voided")
    func lateAuthorization() async throws {
        // Inventory starts only once payment is waiting for the processor, so the shortage
        // is heard while the authorization is in flight (with both running from the start,
        // payment could hear the shortage first and, rightly, never ask the processor).
        let processors = PaymentProcessors(primary: .init(latency: .seconds(5)))
        let stack = try await StackHarness.make(processors: processors, excluding: [.inventory])
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { _ in
            let intake = orchestrator.0.intake
            let id = try await stack.choreographed(intake, stack.order("bob", [("SKU-RARE", 2, "199.00")]))
            try await eventually("payment to ask the processor") { processors.inFlight > 0 }
            let inventory = try await stack.open(InventoryService())
            let running = Task { try await runAll(inventory.1) }
            defer { running.cancel() }
            let view = try await stack.finished(intake, id)
            #expect(view.failure?.contains("SKU-RARE") == true)
            // The shortage was decided while the processor was asked; its late "yes" is voided.
            try await eventually("the late authorization to be voided") { try await stack.payment(id)?.status == "voided" }
            #expect(try await stack.ledger(id) == ["authorize", "void"])
            let reservations = try await inventory.0.database.read { sql in
                try await sql.raw("SELECT status FROM reservations WHERE order_id = \(bind: id)").all().map { try $0.decode(column: "status", as: String.self) }
            }
            #expect(reservations.isEmpty)
            #expect(try await stack.shipment(id) == nil)
        }
    }

    @Test("primary processor failing: payment falls back to the backup inside its own service and the order completes")
    func backupProcessor() async throws {
        let processors = PaymentProcessors(primary: .init(failureRate: 1))
        let stack = try await StackHarness.make(processors: processors)
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { _ in
            let intake = orchestrator.0.intake
            let id = try await stack.choreographed(intake, stack.order("alice", [("SKU-MUG", 2, "7.50")]))
            #expect(try await stack.finished(intake, id).status == .completed)
            #expect(try await stack.payment(id)?.status == "captured")
            #expect(try await stack.payment(id)?.processor == "backup")
            #expect(try await stack.ledger(id) == ["processor-error", "authorize", "capture"])
            #expect(try await stack.reservations(id) == ["committed"])
        }
    }

    @Test("every event of an order delivered twice: no second effect anywhere")
    func duplicates() async throws {
        let stack = try await StackHarness.make()
        let orchestrator = try await stack.openOrchestrator()
        // The choreography's own topics, and `orders.events` for the outcome.
        let tap = EventTap(topics: ChoreographyCatalog.eventSources.map(stack.topics.choreographyEvents) + [stack.topics.events(.orders)])
        try await stack.running(orchestrator) { _ in
            try await tap.running(on: stack.kafka.bus) {
                let intake = orchestrator.0.intake
                let id = try await stack.choreographed(intake, stack.order("bob", [("SKU-COFFEE", 3, "12.50")]))
                #expect(try await stack.finished(intake, id).status == .completed)
                try await eventually("order-completed on orders.events") { tap.envelopes(of: id).contains { $0.envelope.messageType == OrderCompleted.messageType } }

                let delivered = tap.envelopes(of: id)
                #expect(delivered.count >= 8, "placed, verified, reserved, authorized, scheduled, captured, committed, completed")
                for (topic, envelope) in delivered { try await stack.kafka.bus.publish(envelope, to: topic) }
                try await stack.caughtUp(groups: stack.choreographyGroups)

                #expect(try await stack.ledger(id) == ["authorize", "capture"])
                #expect(try await stack.reservations(id) == ["committed"])
                #expect(try await stack.stock("SKU-COFFEE") == (97, 0))
                #expect(try await stack.query("shipping", "SELECT order_id FROM shipments WHERE order_id = '\(id)'").count == 1)
                let view = try #require(try await intake.tracker.view(id))
                #expect(view.timeline.count == Set(view.timeline.map(\.event)).count, "each event once in the tracker's timeline")
                #expect(tap.envelopes(of: id).filter { $0.envelope.messageType == OrderCompleted.messageType }.count == 2, "the original and our copy; no new one")
            }
        }
    }

    @Test("payment stopped mid-flow and started again: every order finishes, each captured once")
    func participantRestarted() async throws {
        let stack = try await StackHarness.make(excluding: [.payment])
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { _ in
            let intake = orchestrator.0.intake
            let first = try await stack.open(PaymentService())
            let payment = Task { try await runAll(first.1) }
            try await eventually("payment to join its groups") { first.2.isReady }
            var orders: [String] = []
            for _ in 0..<12 { orders.append(try await stack.choreographed(intake, stack.order("bob", [("SKU-COFFEE", 1, "12.50")]))) }
            let before = orders
            try await eventually("some orders to finish") { try await stack.finishedCount(intake, before) >= 1 }
            payment.cancel()
            _ = await payment.result
            try await first.0.database.close()
            for _ in 0..<6 { orders.append(try await stack.choreographed(intake, stack.order("bob", [("SKU-COFFEE", 1, "12.50")]))) }

            let second = try await stack.open(PaymentService())
            let restarted = Task { try await runAll(second.1) }
            defer { restarted.cancel() }
            for id in orders {
                #expect(try await stack.finished(intake, id).status == .completed, "order \(id)")
                let ledger = try await second.0.database.read { sql in
                    try await sql.raw("SELECT entry FROM ledger WHERE order_id = \(bind: id) ORDER BY id").all().map { try $0.decode(column: "entry", as: String.self) }
                }
                #expect(ledger == ["authorize", "capture"], "order \(id)")
            }
            #expect(try await stack.stock("SKU-COFFEE") == (100 - orders.count, 0))
        }
    }

    @Test("inventory silent past shipping's deadline: shipping refuses, payment voids, and inventory undoes its part when it is back")
    func deadline() async throws {
        let stack = try await StackHarness.make(checkoutDeadline: .seconds(2), excluding: [.inventory])
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { _ in
            let intake = orchestrator.0.intake
            let id = try await stack.choreographed(intake, stack.order("alice", [("SKU-MUG", 1, "7.50")]))
            try await eventually("shipping to refuse the order", timeout: .seconds(20)) {
                try await stack.query("shipping", "SELECT state FROM checkout_joins WHERE order_id = '\(id)'").first?.decode(column: "state", as: String.self) == "refused"
            }
            try await eventually("the authorization to be voided") { try await stack.payment(id)?.status == "voided" }
            try await eventually("the tracker to wait for inventory") { try await intake.tracker.view(id)?.awaiting == [.inventory] }

            let inventory = try await stack.open(InventoryService())
            let running = Task { try await runAll(inventory.1) }
            defer { running.cancel() }
            let view = try await stack.finished(intake, id)
            #expect(view.status == .compensated)
            #expect(view.failure?.contains("shipment refused") == true)
            let reservations = try await inventory.0.database.read { sql in
                try await sql.raw("SELECT status FROM reservations WHERE order_id = \(bind: id)").all().map { try $0.decode(column: "status", as: String.self) }
            }
            #expect(reservations.allSatisfy { $0 == "released" }, "released, or never reserved")
            let mugs = try await inventory.0.database.read { try await $0.raw("SELECT reserved FROM stock WHERE sku = 'SKU-MUG'").first()?.decode(column: "reserved", as: Int.self) }
            #expect(mugs == 0)
            #expect(try await stack.shipment(id) == nil)
        }
    }

    @Test("the same workload in both modes at once on one stack: every order terminal, with the outcome each mode's rules imply")
    func bothModes() async throws {
        let stack = try await StackHarness.make()
        let orchestrator = try await stack.openOrchestrator()
        try await stack.running(orchestrator) { runner in
            let intake = orchestrator.0.intake
            let workload: [(customer: String, sku: String, quantity: Int, card: String, expected: String)] = [
                ("bob", "SKU-COFFEE", 1, "4111111111111111", "completed"),
                ("alice", "SKU-MUG", 1, "4000000000000002", "not-completed"),
                ("mallory", "SKU-MUG", 1, "4111111111111111", "failed"),
                ("alice", "SKU-COFFEE", 2, "4111111111111111", "completed"),
            ]
            var placed: [(id: String, mode: CheckoutMode, expected: String)] = []
            for _ in 0..<3 {
                for item in workload {
                    for mode in CheckoutMode.allCases {
                        var order = stack.order(item.customer, [(item.sku, item.quantity, item.sku == "SKU-COFFEE" ? "12.50" : "7.50")], card: item.card)
                        order.mode = mode
                        let (id, _, _) = try await intake.place(order, idempotencyKey: nil)
                        placed.append((id, mode, item.expected))
                    }
                }
            }
            for order in placed {
                let status: String
                switch order.mode {
                case .orchestration: status = try await stack.finished(runner, order.id).status.rawValue
                case .choreography: status = try await stack.finished(intake, order.id).status.rawValue
                }
                switch order.expected {
                case "completed": #expect(status == "completed", "\(order.mode) order \(order.id)")
                case "failed": #expect(status == "failed", "\(order.mode) order \(order.id)")
                default: #expect(["compensated", "failed"].contains(status), "\(order.mode) order \(order.id)")
                }
                #expect(try await stack.ledger(order.id).filter { $0 == "capture" }.count == (status == "completed" ? 1 : 0))
            }
            // 3 × (1 + 2) coffees in each mode; mugs all back.
            #expect(try await stack.stock("SKU-COFFEE") == (100 - 18, 0))
            #expect(try await stack.stock("SKU-MUG") == (50, 0))
        }
    }
}

// MARK: - Helpers

extension StackHarness {
    /// Places a choreographed order through the intake; returns its id.
    func choreographed(_ intake: OrderIntake, _ request: OrderRequest) async throws -> String {
        var request = request
        request.mode = .choreography
        return try await intake.place(request, idempotencyKey: nil).orderID
    }

    /// Waits until the tracker says the choreographed order is over; returns its view.
    func finished(_ intake: OrderIntake, _ id: String, timeout: Duration = .seconds(45)) async throws -> ChoreographedOrderView {
        try await eventuallyValue("choreographed order \(id) to finish", timeout: timeout) {
            guard let view = try await intake.tracker.view(id), view.status.isFinished else { return nil }
            return view
        }
    }

    func finishedCount(_ intake: OrderIntake, _ ids: [String]) async throws -> Int {
        var count = 0
        for id in ids where try await intake.tracker.view(id)?.status.isFinished == true { count += 1 }
        return count
    }

    /// The consumer groups that read the choreography's events: each participant's (one
    /// group for its commands and its reactions) and the tracker's.
    var choreographyGroups: [(group: String, topics: [String])] {
        ServiceName.participants.map { service in
            (topics.group("ensemble-\(service)"), ChoreographyCatalog.sources(of: service).map(topics.choreographyEvents))
        } + [(topics.group("ensemble-orchestrator-choreography"), ChoreographyTracker.sources.map(topics.choreographyEvents))]
    }

    /// Waits until every group committed every record of its topics written so far.
    func caughtUp(groups: [(group: String, topics: [String])], timeout: Duration = .seconds(30)) async throws {
        let admin = try KafkaAdmin(configuration: configuration.kafka, logger: TestBroker.logger)
        for (group, topics) in groups {
            let marks = try await admin.highWatermarks(topics, timeout: .seconds(5))
            try await eventually("group \(group) to commit up to the end of its topics", timeout: timeout) {
                let committed = try await admin.committedOffsets(group: group, timeout: .seconds(5))
                return marks.allSatisfy { partition, high in high == 0 || (committed[partition] ?? 0) >= high }
            }
        }
    }
}

/// Runs `services` until cancelled.
func runAll(_ services: [any Service]) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for service in services { group.addTask { try await service.run() } }
        try await group.waitForAll()
    }
}

/// Records every envelope on `topics`, from the start, with the topic it was read from.
final class EventTap: Sendable {
    let topics: [String]
    private let seen = Locked<[(topic: String, envelope: Envelope)]>([])

    init(topics: [String]) {
        self.topics = topics
    }

    func envelopes(of correlation: String) -> [(topic: String, envelope: Envelope)] {
        seen.withLock { $0 }.filter { $0.envelope.correlationID == correlation }
    }

    func running<T: Sendable>(on bus: any MessageBus, _ body: @Sendable () async throws -> T) async throws -> T {
        let ready = Locked(false)
        let subscription = Subscription(groupID: TestBroker.unique("tap"), topics: topics)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await bus.consume(subscription, onReady: { ready.withLock { $0 = true } }) { record in
                    guard let envelope = try? Envelope(record: record) else { return }
                    self.seen.withLock { $0.append((record.topic, envelope)) }
                }
                return nil
            }
            try await eventually("the tap to join its group") { ready.withLock { $0 } }
            let result = try await body()
            group.cancelAll()
            return result
        }
    }
}
