import Foundation
import Logging
import SQLKit
import SQLiteKit

/// A service database in one SQLite file.
///
/// One connection for writes, used by one transaction at a time (SQLite serializes writers
/// anyway), and a second one for `read`, so that reads (a read model's HTTP API) neither
/// wait for writes nor hold them up: in WAL mode a reader sees the last committed state.
/// Calls run on NIO's blocking thread pool, never on the cooperative pool. The file is in
/// WAL mode with `synchronous=NORMAL`: a committed transaction survives the process being
/// killed at any point; only an operating-system crash can lose the last ones.
public final class SQLiteStore: Database {
    public let dialect = DatabaseDialect.sqlite
    public let path: String
    private let connection: SQLiteConnection
    private let sql: any SQLDatabase
    private let lock = AsyncLock()
    /// The reading connection (the writing one for an in-memory database, which cannot be shared).
    private let reader: SQLiteConnection?
    private let readSQL: any SQLDatabase
    private let readLock: AsyncLock

    private init(path: String, connection: SQLiteConnection, reader: SQLiteConnection?) {
        self.path = path
        self.connection = connection
        self.sql = connection.sql()
        self.reader = reader
        self.readSQL = reader?.sql() ?? connection.sql()
        self.readLock = reader == nil ? lock : AsyncLock()
    }

    /// Opens (creating if needed) the database at `path`; `":memory:"` for a private in-memory one.
    public static func open(path: String, logger: Logger) async throws -> SQLiteStore {
        let storage: SQLiteConnection.Storage
        if path == ":memory:" {
            storage = .memory
        } else {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw StorageError(code: .unavailable, message: "cannot create the data directory \(directory): \(error.localizedDescription)")
            }
            storage = .file(path: path)
        }
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: storage, logger: logger)
        } catch {
            throw StorageError(code: .unavailable, message: "cannot open the SQLite database \(path): \(error)")
        }
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000"] {
            try await connection.sql().raw(SQLQueryString(pragma)).run()
        }
        var reader: SQLiteConnection?
        if path != ":memory:" {
            do {
                let opened = try await SQLiteConnection.open(storage: storage, logger: logger)
                try await opened.sql().raw("PRAGMA busy_timeout=5000").run()
                reader = opened
            } catch {
                throw StorageError(code: .unavailable, message: "cannot open the SQLite database \(path) for reading: \(error)")
            }
        }
        return SQLiteStore(path: path, connection: connection, reader: reader)
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await lock.withLock {
            try await sql.raw("BEGIN IMMEDIATE").run()
            do {
                let result = try await body(sql)
                try await sql.raw("COMMIT").run()
                return result
            } catch {
                try? await sql.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await readLock.withLock {
            // One read transaction: every statement of `body` sees the same committed state.
            try await readSQL.raw("BEGIN").run()
            do {
                let result = try await body(readSQL)
                try await readSQL.raw("COMMIT").run()
                return result
            } catch {
                try? await readSQL.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    public func autocommit<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await lock.withLock { try await body(sql) }
    }

    public func close() async throws {
        try await reader?.close()
        try await connection.close()
    }

    deinit {
        // Closing an already closed connection does nothing; otherwise the close runs on
        // NIO's thread pool and keeps the connection alive until it is done.
        _ = reader?.close()
        _ = connection.close()
    }
}
