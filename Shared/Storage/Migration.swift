import Foundation
import Logging
import Messaging
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
        // Instances of one service starting together on one PostgreSQL database take turns:
        // the lock makes the second one find the first one's migrations applied.
        try await database.exclusively(.migrations) { sql in
            try await sql.raw("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)").run()
        }
        for migration in migrations {
            let applied: Bool
            do {
                applied = try await database.exclusively(.migrations) { sql in
                    let seen = try await sql.raw("SELECT name FROM schema_migrations WHERE name = \(bind: migration.name)").first() != nil
                    if seen { return false }
                    for statement in migration.statements(database.dialect) {
                        try await sql.raw(SQLQueryString(database.dialect.adapt(statement))).run()
                    }
                    try await sql.raw("INSERT INTO schema_migrations (name, applied_at) VALUES (\(bind: migration.name), \(bind: StorageClock.now()))").run()
                    return true
                }
            } catch {
                throw StorageError(code: .migrationFailed, message: "migration \(migration.name) failed: \(PostgresStore.describe(error))")
            }
            if applied { logger.info("migration applied", metadata: ["migration": "\(migration.name)"]) }
        }
    }
}

/// Timestamps as stored: RFC 3339 text, which sorts and reads the same in SQLite and PostgreSQL.
public enum StorageClock {
    public static func now() -> String { format(Date()) }

    public static func format(_ date: Date) -> String {
        RFC3339.format(date)
    }

    /// Reads a timestamp written by `format`.
    public static func parse(_ text: String) -> Date? {
        RFC3339.parse(text)
    }
}

extension DatabaseDialect {
    /// The schema is written once for both dialects; PostgreSQL gets `BIGINT` where it says
    /// `INTEGER`, because SQLite's `INTEGER` holds 64 bits and PostgreSQL's only 32.
    func adapt(_ statement: String) -> String {
        guard self == .postgresql else { return statement }
        return statement.replacing(/\bINTEGER\b/, with: "BIGINT")
    }
}
