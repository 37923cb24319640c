import Foundation
import SQLiteDirect
import Testing
@testable import Ensemble

/// What `ensemble replay` compares: every row of every table, before and after.
@Suite("Table snapshots")
struct TableSnapshotTests {
    @Test("an unchanged database compares equal; an added, removed or changed row is reported per table")
    func changes() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try SQLiteHandle(path: path)
        defer { handle.close() }
        for statement in [
            "CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT, amount REAL, data BLOB)",
            "CREATE TABLE b (id TEXT PRIMARY KEY)",
            "INSERT INTO a VALUES (1, 'one', 1.5, x'00ff'), (2, NULL, NULL, NULL)",
            "INSERT INTO b VALUES ('x')",
        ] { try handle.execute(statement, []) { _, _ in } }

        let before = try TableSnapshot.take(path: path)
        #expect(before.rowCount == 3)
        #expect(try TableSnapshot.take(path: path).changes(since: before).isEmpty)

        try handle.execute("UPDATE a SET name = 'two' WHERE id = 2", []) { _, _ in }
        try handle.execute("INSERT INTO b VALUES ('y')", []) { _, _ in }
        let after = try TableSnapshot.take(path: path)
        #expect(after.changes(since: before) == [TableChange(table: "a", added: 1, removed: 1), TableChange(table: "b", added: 1, removed: 0)])
    }
}
