import SQLKit

/// The SQL dialects Ensemble writes its schema for.
public enum DatabaseDialect: String, Sendable, Hashable {
    case sqlite
    case postgresql
}

/// A service's own database. Every write happens in `transaction`, which commits when
/// its body returns and rolls back when it throws.
public protocol Database: Sendable {
    var dialect: DatabaseDialect { get }

    /// Runs `body` in one transaction.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs queries that only read.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs one statement that commits by itself (no explicit transaction around it).
    func autocommit<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    func close() async throws
}

extension Database {
    /// Inserts demo data in one transaction, only when `isEmpty` says the database is new.
    public func seedIfEmpty(
        _ isEmpty: @escaping @Sendable (any SQLDatabase) async throws -> Bool,
        _ seed: @escaping @Sendable (any SQLDatabase) async throws -> Void
    ) async throws {
        try await transaction { sql in
            guard try await isEmpty(sql) else { return }
            try await seed(sql)
        }
    }
}

extension SQLDatabase {
    /// Runs `body` on this connection between `begin` and `COMMIT`, rolling back when it throws.
    func bracketed<T: Sendable>(_ begin: SQLQueryString, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await raw(begin).run()
        do {
            let result = try await body(self)
            try await raw("COMMIT").run()
            return result
        } catch {
            try? await raw("ROLLBACK").run()
            throw error
        }
    }
}

extension Database {
    /// Runs `body` in a transaction that no other process holding the same `lock` runs at
    /// the same time, each statement seeing what others committed before it (PostgreSQL:
    /// `READ COMMITTED` with a transaction-scoped advisory lock). For work that several
    /// instances of one service share, such as publishing the outbox. SQLite has one
    /// writer per file already: there it is a plain transaction.
    public func exclusively<T: Sendable>(_ lock: DatabaseLock, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        guard dialect == .postgresql else { return try await transaction(body) }
        return try await autocommit { sql in
            try await sql.bracketed("BEGIN") { sql in
                try await sql.raw("SELECT pg_advisory_xact_lock(\(bind: lock.rawValue))").run()
                return try await body(sql)
            }
        }
    }
}

/// The advisory locks Ensemble's instances coordinate with on a shared PostgreSQL database.
public enum DatabaseLock: Int64, Sendable {
    case migrations = 0x656E_7301
    case outbox = 0x656E_7302
    case timers = 0x656E_7303
}
