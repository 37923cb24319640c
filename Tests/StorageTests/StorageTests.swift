import Foundation
import Logging
import SQLKit
import Storage
import StorageTesting
import Testing

@Suite("Storage and migrations (SQLite, or PostgreSQL with ENSEMBLE_TEST_DATABASE=postgresql)")
struct StorageTests {
    private func open() async throws -> any Database {
        try await TestDatabase.open("storage")
    }

    @Test("a transaction that throws leaves nothing behind")
    func rollback() async throws {
        struct Abort: Error {}
        let store = try await open()
        try await Migrator.migrate(store, [Migration("t-001") { _ in ["CREATE TABLE t (v INTEGER NOT NULL)"] }], logger: Logger(label: "test"))
        await #expect(throws: Abort.self) {
            try await store.transaction { sql in
                try await sql.raw("INSERT INTO t (v) VALUES (1)").run()
                throw Abort()
            }
        }
        try await store.transaction { sql in try await sql.raw("INSERT INTO t (v) VALUES (2)").run() }
        let values = try await store.read { sql in try await sql.raw("SELECT v FROM t").all().map { try $0.decode(column: "v", as: Int.self) } }
        #expect(values == [2])
    }

    @Test("concurrent transactions are serialized, none lost")
    func serialized() async throws {
        let store = try await open()
        try await Migrator.migrate(store, [Migration("c-001") { _ in ["CREATE TABLE c (n INTEGER NOT NULL)", "INSERT INTO c (n) VALUES (0)"] }], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await store.transaction { sql in
                        let n = try await sql.raw("SELECT n FROM c").first()!.decode(column: "n", as: Int.self)
                        try await sql.raw("UPDATE c SET n = \(bind: n + 1)").run()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.read { try await $0.raw("SELECT n FROM c").first()!.decode(column: "n", as: Int.self) } == 50)
    }

    @Test("migrations run once, in order, and a failing one is named")
    func migrations() async throws {
        let store = try await open()
        let logger = Logger(label: "test")
        let first = Migration("m-001") { _ in ["CREATE TABLE m (v INTEGER)"] }
        try await Migrator.migrate(store, [first], logger: logger)
        try await Migrator.migrate(store, [first, Migration("m-002") { _ in ["ALTER TABLE m ADD COLUMN w INTEGER"] }], logger: logger)
        let names = try await store.read { try await $0.raw("SELECT name FROM schema_migrations ORDER BY name").all().map { try $0.decode(column: "name", as: String.self) } }
        #expect(names == ["m-001", "m-002"])
        let error = await #expect(throws: StorageError.self) {
            try await Migrator.migrate(store, [Migration("m-003") { _ in ["THIS IS NOT SQL"] }], logger: logger)
        }
        #expect(error?.code == .migrationFailed)
        #expect(error?.message.contains("m-003") == true)
    }

    @Test("an unwritable location is one clear error")
    func unavailable() async throws {
        let error = await #expect(throws: StorageError.self) {
            _ = try await SQLiteStore.open(path: "/proc/ensemble/nope.sqlite", logger: Logger(label: "test"))
        }
        #expect(error?.code == .unavailable)
    }
}
