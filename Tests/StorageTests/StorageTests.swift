import Foundation
import Logging
import MessagingTesting
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

    /// A SQLite file of its own: group commit is SQLite's (a PostgreSQL store runs a batch's
    /// transactions each on its own, see `Database.batch`).
    private func sqlite() async throws -> SQLiteStore {
        try await SQLiteStore.open(path: FileManager.default.temporaryDirectory.appendingPathComponent("ensemble-batch-\(UUID().uuidString).sqlite").path, logger: Logger(label: "test"))
    }

    @Test("SQLite: a batch commits its transactions together; one that throws rolls back alone; reads see the batch")
    func groupCommit() async throws {
        struct Abort: Error {}
        let store = try await sqlite()
        try await Migrator.migrate(store, [Migration("g-001") { _ in ["CREATE TABLE g (v INTEGER NOT NULL)"] }], logger: Logger(label: "test"))
        let woken = Locked<[String]>([])
        let seen = try await store.batch { () async throws -> [Int] in
            try await store.transaction { sql in try await sql.raw("INSERT INTO g (v) VALUES (1)").run() }
            store.afterCommit { woken.withLock { $0.append("first") } }
            await #expect(throws: Abort.self) {
                try await store.transaction { sql in
                    try await sql.raw("INSERT INTO g (v) VALUES (2)").run()
                    throw Abort()
                }
            }
            try await store.transaction { sql in try await sql.raw("INSERT INTO g (v) VALUES (3)").run() }
            #expect(woken.withLock { $0 }.isEmpty, "nothing is committed before the batch ends")
            return try await store.read { sql in try await sql.raw("SELECT v FROM g ORDER BY v").all().map { try $0.decode(column: "v", as: Int.self) } }
        }
        #expect(seen == [1, 3], "a read inside the batch sees the batch's own writes")
        #expect(woken.withLock { $0 } == ["first"], "after-commit work runs once the batch committed")
        let values = try await store.read { sql in try await sql.raw("SELECT v FROM g ORDER BY v").all().map { try $0.decode(column: "v", as: Int.self) } }
        #expect(values == [1, 3])
    }

    @Test("SQLite: a batch whose body throws leaves nothing behind and runs none of its after-commit work")
    func groupRollback() async throws {
        struct Abort: Error {}
        let store = try await sqlite()
        try await Migrator.migrate(store, [Migration("h-001") { _ in ["CREATE TABLE h (v INTEGER NOT NULL)"] }], logger: Logger(label: "test"))
        let woken = Locked(0)
        await #expect(throws: Abort.self) {
            try await store.batch { () async throws -> Void in
                try await store.transaction { sql in try await sql.raw("INSERT INTO h (v) VALUES (1)").run() }
                store.afterCommit { woken.withLock { $0 += 1 } }
                throw Abort()
            }
        }
        // The writer is free again, and nothing of the batch is there.
        try await store.transaction { sql in try await sql.raw("INSERT INTO h (v) VALUES (2)").run() }
        let values = try await store.read { sql in try await sql.raw("SELECT v FROM h").all().map { try $0.decode(column: "v", as: Int.self) } }
        #expect(values == [2])
        #expect(woken.withLock { $0 } == 0)
    }

    @Test("SQLite: transactions of other tasks wait for a batch in progress and are not part of it")
    func groupIsolation() async throws {
        struct Abort: Error {}
        let store = try await sqlite()
        try await Migrator.migrate(store, [Migration("i-001") { _ in ["CREATE TABLE i (v INTEGER NOT NULL)"] }], logger: Logger(label: "test"))
        let inside = Locked(false)
        let release = Locked(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await #expect(throws: Abort.self) {
                    try await store.batch { () async throws -> Void in
                        try await store.transaction { sql in try await sql.raw("INSERT INTO i (v) VALUES (1)").run() }
                        inside.withLock { $0 = true }
                        try await waitUntil { release.withLock { $0 } }
                        throw Abort()
                    }
                }
            }
            try await waitUntil { inside.withLock { $0 } }
            group.addTask {
                // Outside the batch's task: its own transaction, after the batch.
                try await store.transaction { sql in try await sql.raw("INSERT INTO i (v) VALUES (2)").run() }
            }
            release.withLock { $0 = true }
            try await group.waitForAll()
        }
        let values = try await store.read { sql in try await sql.raw("SELECT v FROM i").all().map { try $0.decode(column: "v", as: Int.self) } }
        #expect(values == [2], "the other task's write survived the batch's rollback")
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
