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

    /// Runs `body` as one group commit: every `transaction` it opens on this database (in
    /// this task and its child tasks) is a savepoint of one database transaction that
    /// commits when `body` returns, and `read`s see those writes. A transaction that throws
    /// rolls back only its own savepoint. If `body` throws, or the final commit fails,
    /// everything rolls back and the error is rethrown. A consumer wraps each poll batch in
    /// it, so N records cost one commit instead of N. Stores that do not group (PostgreSQL,
    /// where concurrent instances need each transaction's own serializable check) run
    /// `body` as it is.
    func batch<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T

    /// Whether `batch` is one database transaction (SQLite). Only then may work for a whole
    /// batch be written once at its end and still commit with every record of it.
    var groupsCommits: Bool { get }

    /// Runs `action` once what this task wrote so far is committed: at once outside a
    /// `batch`, after the batch's commit inside one (and never if that commit fails). For
    /// waking whoever reads the committed state: the outbox relay, timers.
    func afterCommit(_ action: @escaping @Sendable () -> Void)

    func close() async throws
}

extension Database {
    public func batch<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await body()
    }

    public var groupsCommits: Bool { false }

    public func afterCommit(_ action: @escaping @Sendable () -> Void) {
        action()
    }
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

/// The statements around a unit of work: a transaction, or a savepoint inside one.
struct SQLBracket {
    var begin: String
    var commit: String
    var rollback: [String]

    static func transaction(_ begin: String = "BEGIN") -> SQLBracket {
        SQLBracket(begin: begin, commit: "COMMIT", rollback: ["ROLLBACK"])
    }

    /// A savepoint rolled back stays on the stack until it is released, hence both.
    static func savepoint(_ name: String) -> SQLBracket {
        SQLBracket(begin: "SAVEPOINT \(name)", commit: "RELEASE \(name)", rollback: ["ROLLBACK TO \(name)", "RELEASE \(name)"])
    }
}

extension SQLDatabase {
    /// Runs `body` on this connection inside `bracket`, rolling back when it throws.
    func bracketed<T: Sendable>(_ bracket: SQLBracket, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await raw(SQLQueryString(bracket.begin)).run()
        do {
            let result = try await body(self)
            try await raw(SQLQueryString(bracket.commit)).run()
            return result
        } catch {
            for statement in bracket.rollback { try? await raw(SQLQueryString(statement)).run() }
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
            try await sql.bracketed(.transaction()) { sql in
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
