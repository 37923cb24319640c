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
