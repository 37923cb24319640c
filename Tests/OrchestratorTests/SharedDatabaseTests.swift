import Contracts
import Foundation
import Logging
import Messaging
import MessagingTesting
@testable import OrchestratorCore
import Storage
import StorageTesting
import Synchronization
import Testing

/// Two orchestrators on one database (two SQLite connections to one file, or one
/// PostgreSQL database with ENSEMBLE_TEST_DATABASE=postgresql), with one controlled clock.
@Suite("Orchestrators sharing a database")
struct SharedDatabaseTests {
    final class Clock: Sendable {
        private let time = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        var now: Date { time.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { time.withLock { $0 += seconds } }
    }

    @Test("a due timeout and its retry fire once when both orchestrators run their timers at the same moment, again and again")
    func timersFireOnce() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let open = TestDatabase.reopenable("timers", logger: logger)
        let clock = Clock()
        var runners: [SagaRunner] = []
        for index in 0..<2 {
            let database = try await open()
            if index == 0 { try await Migrator.migrate(database, Storage.messagingMigrations + OrchestratorService().migrations, logger: logger) }
            let relay = OutboxRelay(database: database, bus: InMemoryMessageBus(), service: "orchestrator", logger: logger)
            let runner = SagaRunner(database: database, relay: relay, engine: SagaEngine(), logger: logger, now: { clock.now })
            try await runner.loadDefinitions(builtIn: [CheckoutDefinition.definition])
            runners.append(runner)
        }
        let order = try MessageCoding.decode(OrderRequest.self, from: Data(APIFixture.order.utf8))
        var ids: [String] = []
        // Two orders: more timeouts would open the route's circuit, which fails them fast instead.
        for _ in 0..<2 { ids.append(try await runners[0].place(order, idempotencyKey: nil).orderID) }

        // Past the 3 s timeout, then past the 200 ms backoff: both runners fire at once each time.
        for step in [3.1, 0.5] {
            clock.advance(step)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for runner in runners { group.addTask { try await runner.runDueTimers() } }
                try await group.waitForAll()
            }
        }
        let commands = try await runners[0].database.read { try await Outbox.pending(limit: 1000, in: $0) }
            .filter { $0.message.record.headers.string(for: EnvelopeHeader.messageType) == VerifyCustomer.messageType }
        for id in ids {
            let sent = commands.filter { $0.message.key == id }
            #expect(sent.count == 2, "\(id): the first command and one retry, not \(sent.count)")
            let saga = try #require(try await runners[1].saga(id))
            #expect(saga.steps["verify-customer"]?.attempts.count == 2)
        }
    }
}
