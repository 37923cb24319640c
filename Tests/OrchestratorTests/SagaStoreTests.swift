import Foundation
import Logging
import Messaging
@testable import OrchestratorCore
import SQLKit
import Storage
import StorageTesting
import Testing

@Suite("Saga store: state document, history rows, decode cache")
struct SagaStoreTests {
    private func database() async throws -> any Database {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let database = try await TestDatabase.open("sagastore", logger: logger)
        try await Migrator.migrate(database, Storage.messagingMigrations + OrchestratorService().migrations, logger: logger)
        return database
    }

    private func newSaga(_ id: String) throws -> SagaInstance {
        let order = try MessageCoding.decode(OrderRequest.self, from: Data(APIFixture.order.utf8))
        return SagaInstance(id: id, definition: CheckoutDefinition.definition, customerID: "bob", data: try order.sagaData(orderID: id), now: Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test("history goes to rows: the engine's copy holds only new events, the API's the whole history in order, the document none")
    func historyRows() async throws {
        let database = try await database()
        var saga = try newSaga("o1")
        saga.record(.sagaStarted, detail: "checkout@2", at: Date(timeIntervalSince1970: 1_800_000_000))
        saga.record(.commandSent, step: "verify-customer", at: Date(timeIntervalSince1970: 1_800_000_001))
        try await database.transaction { [saga] sql in try await SagaStore.insert(saga, in: sql) }

        var loaded = try #require(try await database.transaction { sql in try await SagaStore.saga("o1", in: sql) })
        #expect(loaded.history.isEmpty, "stored events are not carried through the engine")
        loaded.record(.stepSucceeded, step: "verify-customer", detail: "profile.customer-verified.v1", at: Date(timeIntervalSince1970: 1_800_000_002))
        try await database.transaction { [loaded] sql in try await SagaStore.update(loaded, in: sql) }

        let whole = try #require(try await database.read { sql in try await SagaStore.sagaWithHistory("o1", in: sql) })
        #expect(whole.history.map(\.event) == [.sagaStarted, .commandSent, .stepSucceeded])
        #expect(whole.history.last?.detail == "profile.customer-verified.v1")
        #expect(whole.history.first?.at == Date(timeIntervalSince1970: 1_800_000_000))
        let state = try await database.read { sql in try await sql.raw("SELECT state FROM sagas WHERE id = 'o1'").first()?.decode(column: "state", as: String.self) }
        let document = try #require(state)
        #expect(!document.contains("saga started") && !document.contains("command sent"), "the document holds no events")
    }

    @Test("a saga stored with its history inside the document (before the history table) keeps it, and its next change moves it to rows")
    func documentHistoryIsKept() async throws {
        let database = try await database()
        var legacy = try newSaga("o2")
        legacy.record(.sagaStarted, detail: "checkout@2", at: Date(timeIntervalSince1970: 1_800_000_000))
        legacy.record(.commandSent, step: "verify-customer", at: Date(timeIntervalSince1970: 1_800_000_001))
        // The old shape: every event in `state`.
        let text = try StorageJSON.encode(legacy)
        try await database.transaction { sql in
            try await sql.raw("""
            INSERT INTO sagas (id, definition_name, definition_version, customer_id, status, state, next_deadline, created_at, updated_at)
            VALUES ('o2', 'checkout', 2, 'bob', 'running', \(bind: text), NULL, '2027-01-15T08:00:00.000Z', '2027-01-15T08:00:00.000Z')
            """).run()
        }
        #expect(try await database.read { sql in try await SagaStore.sagaWithHistory("o2", in: sql) }?.history.count == 2)
        var loaded = try #require(try await database.transaction { sql in try await SagaStore.saga("o2", in: sql) })
        loaded.record(.stepSucceeded, step: "verify-customer", at: Date(timeIntervalSince1970: 1_800_000_002))
        try await database.transaction { [loaded] sql in try await SagaStore.update(loaded, in: sql) }
        let whole = try #require(try await database.read { sql in try await SagaStore.sagaWithHistory("o2", in: sql) })
        #expect(whole.history.map(\.event) == [.sagaStarted, .commandSent, .stepSucceeded])
        let rows = try await database.read { sql in try await sql.raw("SELECT COUNT(*) AS n FROM saga_history WHERE saga_id = 'o2'").first()?.decode(column: "n", as: Int.self) }
        #expect(rows == 3)
    }

    @Test("the decode cache hands out what the database holds: a change made without it is seen")
    func cacheFollowsTheDatabase() async throws {
        let database = try await database()
        let cache = DocumentCache<SagaInstance>()
        let saga = try newSaga("o3")
        try await database.transaction { sql in try await SagaStore.insert(saga, in: sql, cache: cache) }
        let first = try await database.transaction { sql in try await SagaStore.saga("o3", in: sql, cache: cache) }
        #expect(first?.status == .running)
        // Another orchestrator (no cache of ours) changes the saga.
        var other = try #require(try await database.transaction { sql in try await SagaStore.saga("o3", in: sql) })
        other.status = .compensating
        try await database.transaction { [other] sql in try await SagaStore.update(other, in: sql) }
        let after = try await database.transaction { sql in try await SagaStore.saga("o3", in: sql, cache: cache) }
        #expect(after?.status == .compensating)
        // A write that rolled back leaves the cache no wiser than the database.
        struct Abort: Error {}
        var rolledBack = try #require(after)
        rolledBack.status = .failed
        await #expect(throws: Abort.self) {
            try await database.transaction { [rolledBack] sql in
                try await SagaStore.update(rolledBack, in: sql, cache: cache)
                throw Abort()
            }
        }
        #expect(try await database.transaction { sql in try await SagaStore.saga("o3", in: sql, cache: cache) }?.status == .compensating)
    }
}
