import Foundation
import Logging
import SQLKit

/// One schema change: SQL statements per dialect, applied once, in list order.
public struct Migration: Sendable {
    public let name: String
    public let statements: @Sendable (DatabaseDialect) -> [String]

    public init(_ name: String, statements: @escaping @Sendable (DatabaseDialect) -> [String]) {
        self.name = name
        self.statements = statements
    }
}

/// Applies the migrations a database has not seen yet, each in its own transaction,
/// recording them in `schema_migrations`.
public enum Migrator {
    public static func migrate(_ database: any Database, _ migrations: [Migration], logger: Logger) async throws {
        try await database.transaction { sql in
            try await sql.raw("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)").run()
        }
        let applied = try await database.read { sql in
            Set(try await sql.raw("SELECT name FROM schema_migrations").all().map { try $0.decode(column: "name", as: String.self) })
        }
        for migration in migrations where !applied.contains(migration.name) {
            do {
                try await database.transaction { sql in
                    for statement in migration.statements(database.dialect) {
                        try await sql.raw(SQLQueryString(statement)).run()
                    }
                    try await sql.raw("INSERT INTO schema_migrations (name, applied_at) VALUES (\(bind: migration.name), \(bind: StorageClock.now()))").run()
                }
            } catch {
                throw StorageError(code: .migrationFailed, message: "migration \(migration.name) failed: \(String(reflecting: error))")
            }
            logger.info("migration applied", metadata: ["migration": "\(migration.name)"])
        }
    }
}

/// Timestamps as stored: RFC 3339 text, which sorts and reads the same in SQLite and PostgreSQL.
public enum StorageClock {
    public static func now() -> String { format(Date()) }

    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Reads a timestamp written by `format`.
    public static func parse(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}
