import Contracts
import Foundation
import Kafka
import Messaging
import OrchestratorCore
import PaymentCore
import ServiceKit
import Testing

@Suite("Circuit breakers over a real broker")
struct CircuitBreakerIntegrationTests {
    /// Checkout with the primary processor's circuit opening after 3 failures for `openSeconds`.
    static func definition(version: Int, openSeconds: Double) -> SagaDefinition {
        var definition = CheckoutDefinition.definition
        definition.version = version
        guard case .parallel(var steps) = definition.stages[1] else { return definition }
        steps[1].breaker = BreakerPolicy(threshold: 3, openSeconds: openSeconds, halfOpenTrials: 1)
        definition.stages[1] = .parallel(steps)
        return definition
    }

    static func authorizations(_ saga: SagaInstance) -> [StepAttempt] {
        (saga.steps["authorize-payment"]?.attempts ?? []).filter { $0.command == AuthorizePayment.messageType }
    }

    @Test("the primary processor down: the circuit opens and orders go to the backup in one attempt; the primary back: a trial closes it")
    func opensAndCloses() async throws {
        let processors = PaymentProcessors(primary: .init(failureRate: 1))
        let stack = try await StackHarness.make(processors: processors)
        let orchestrator = try await stack.openOrchestrator()
        let changes = try RecordingConsumer("circuit-events", configuration: KafkaConsumerConfiguration(
            client: try TestBroker.client(), groupID: TestBroker.unique("events"),
            consumption: .assign((0..<2).map { KafkaTopicPartition(topic: stack.topics.events("orchestrator"), partition: $0, start: .beginning) })
        ))
        try await stack.running(orchestrator) { runner in
            // Open long enough that the second order and the third one finish inside it on a
            // loaded machine (2 s, then 8 s, were seen to run out while the whole suite ran on
            // two cores); the wait for half-open below is a poll, so this only costs the remainder.
            #expect(try await runner.importDefinition(Self.definition(version: 3, openSeconds: 25)))
            try await withThrowingTaskGroup(of: Void.self) { events in
                events.addTask { try await changes.run() }
                // Two orders: 2 + 1 failures on the primary open its circuit.
                for _ in 0..<2 {
                    let (id, _) = try await runner.place(stack.order("bob", [("SKU-COFFEE", 1, "12.50")]), idempotencyKey: nil)
                    #expect(try await stack.finished(runner, id).status == .completed)
                }
                let open = try #require(try await runner.breakerRecords().first { $0.route == "payment/primary" })
                #expect(open.state(at: Date()) == .open)

                // While it is open: straight to the backup, one attempt, "circuit open" in the history.
                let (third, _) = try await runner.place(stack.order("bob", [("SKU-COFFEE", 1, "12.50")]), idempotencyKey: nil)
                let skipped = try await stack.finished(runner, third)
                #expect(skipped.status == .completed)
                #expect(Self.authorizations(skipped).map(\.fallback) == [true], "one attempt, on the backup")
                #expect(skipped.history.contains { $0.event == .circuitOpen && $0.detail == "payment/primary: taking the fallback payment/backup" })
                #expect(try await stack.payment(third)?.processor == "backup")

                // The primary recovers; once the open period is over a trial goes to it and closes the circuit.
                processors.set(.primary, .init())
                try await eventually("the circuit to be half-open", timeout: .seconds(60)) {
                    try await runner.breakerRecords().first { $0.route == "payment/primary" }?.state(at: Date()) == .halfOpen
                }
                let (fourth, _) = try await runner.place(stack.order("bob", [("SKU-COFFEE", 1, "12.50")]), idempotencyKey: nil)
                let trial = try await stack.finished(runner, fourth)
                #expect(Self.authorizations(trial).map(\.fallback) == [false], "the trial on the primary")
                #expect(try await runner.breakerRecords().first { $0.route == "payment/primary" }?.state(at: Date()) == .closed)
                let (fifth, _) = try await runner.place(stack.order("bob", [("SKU-COFFEE", 1, "12.50")]), idempotencyKey: nil)
                _ = try await stack.finished(runner, fifth)
                #expect(try await stack.payment(fifth)?.processor == "primary")

                try await eventually("the state changes on orchestrator.events") {
                    let seen = changes.messages.compactMap { try? Envelope(record: $0).decode(CircuitChanged.self) }.filter { $0.route == "payment/primary" }
                    return seen.map { "\($0.from)→\($0.to)" } == ["closed→open", "open→half-open", "half-open→closed"]
                }
                events.cancelAll()
            }
        }
    }

    @Test("an open circuit stays open across an orchestrator restart: the first order after it goes to the backup")
    func survivesRestart() async throws {
        let stack = try await StackHarness.make(processors: PaymentProcessors(primary: .init(failureRate: 1)))
        let first = try await stack.openOrchestrator()
        try await stack.runningParticipants {
            try await stack.run(first) { runner in
                #expect(try await runner.importDefinition(Self.definition(version: 3, openSeconds: 120)))
                for _ in 0..<2 {
                    let (id, _) = try await runner.place(stack.order("bob", [("SKU-COFFEE", 1, "12.50")]), idempotencyKey: nil)
                    _ = try await stack.finished(runner, id)
                }
                #expect(try await runner.breakerRecords().first { $0.route == "payment/primary" }?.state(at: Date()) == .open)
            }
            try await first.0.runner.database.close()
            // A new orchestrator process on the same database.
            let second = try await stack.openOrchestrator()
            try await stack.run(second) { runner in
                let (id, _) = try await runner.place(stack.order("bob", [("SKU-COFFEE", 1, "12.50")]), idempotencyKey: nil)
                let saga = try await stack.finished(runner, id)
                #expect(saga.status == .completed)
                #expect(Self.authorizations(saga).map(\.fallback) == [true], "no attempt on the primary after the restart")
            }
        }
    }
}
