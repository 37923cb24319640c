import Foundation
import Logging
import SQLKit
import SQLiteDirect
import SQLiteKit

/// A service database in one SQLite file.
///
/// One connection for writes, used by one transaction at a time (SQLite serializes writers
/// anyway), and a second one for `read`, so that reads (a read model's HTTP API) neither
/// wait for writes nor hold them up: in WAL mode a reader sees the last committed state.
/// Statements run through SQLite's C API on the calling thread (`SQLiteHandle`), with
/// prepared statements reused. The file is in WAL mode with `synchronous=NORMAL`: a
/// committed transaction survives the process being killed at any point; only an
/// operating-system crash or power cut can lose the last ones (`SQLITE_SYNCHRONOUS=FULL`
/// makes every commit wait for the disk).
public final class SQLiteStore: Database {
    public let dialect = DatabaseDialect.sqlite
    public let groupsCommits = true
    public let path: String
    private let connection: SQLiteHandle
    private let sql: any SQLDatabase
    private let lock = AsyncLock()
    /// The reading connection (the writing one for an in-memory database, which cannot be shared).
    private let reader: SQLiteHandle?
    private let readSQL: any SQLDatabase
    private let readLock: AsyncLock

    private init(path: String, connection: SQLiteHandle, reader: SQLiteHandle?, logger: Logger) {
        self.path = path
        self.connection = connection
        self.sql = SQLiteDirectDatabase(handle: connection, logger: logger)
        self.reader = reader
        self.readSQL = reader.map { SQLiteDirectDatabase(handle: $0, logger: logger) } ?? sql
        self.readLock = reader == nil ? lock : AsyncLock()
    }

    /// Opens (creating if needed) the database at `path`; `":memory:"` for a private in-memory one.
    public static func open(path: String, logger: Logger) async throws -> SQLiteStore {
        if path != ":memory:" {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw StorageError(code: .unavailable, message: "cannot create the data directory \(directory): \(error.localizedDescription)")
            }
        }
        let synchronous = ProcessInfo.processInfo.environment["SQLITE_SYNCHRONOUS"] == "FULL" ? "FULL" : "NORMAL"
        let connection: SQLiteHandle
        do {
            connection = try SQLiteHandle(path: path)
            for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=\(synchronous)", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000"] + Self.readPragmas {
                try connection.execute(pragma, []) { _, _ in }
            }
        } catch {
            throw StorageError(code: .unavailable, message: "cannot open the SQLite database \(path): \(error)")
        }
        var reader: SQLiteHandle?
        if path != ":memory:" {
            do {
                let opened = try SQLiteHandle(path: path)
                for pragma in ["PRAGMA busy_timeout=5000"] + Self.readPragmas {
                    try opened.execute(pragma, []) { _, _ in }
                }
                reader = opened
            } catch {
                throw StorageError(code: .unavailable, message: "cannot open the SQLite database \(path) for reading: \(error)")
            }
        }
        return SQLiteStore(path: path, connection: connection, reader: reader, logger: logger)
    }

    /// Pages read through a memory map rather than a `pread` copy each (the reading
    /// connection re-reads every page another transaction changed), a page cache of 16 MiB
    /// per connection instead of 2, and temporary data — the statement journal each
    /// savepoint of a group commit needs — in memory instead of a file opened for it.
    private static let readPragmas = ["PRAGMA mmap_size=268435456", "PRAGMA cache_size=-16384", "PRAGMA temp_store=MEMORY"]

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        if let batch = TransactionBatch.current(on: self) {
            return try await inBatch(batch, body)
        }
        return try await lock.withLock { try await sql.bracketed(.transaction("BEGIN IMMEDIATE"), body) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        // Inside a batch that wrote, read on the writing connection so the batch sees itself.
        if let batch = TransactionBatch.current(on: self), batch.isOpen {
            return try await batch.turn.withLock { try await body(sql) }
        }
        // One read transaction: every statement of `body` sees the same committed state.
        return try await readLock.withLock { try await readSQL.bracketed(.transaction(), body) }
    }

    public func autocommit<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        if let batch = TransactionBatch.current(on: self) {
            return try await inBatch(batch, body)
        }
        return try await lock.withLock { try await body(sql) }
    }

    /// Group commit (see `Database.batch`). The writer lock is taken with the batch's
    /// first write and held until its commit; a batch that never writes never takes it.
    public func batch<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if TransactionBatch.current(on: self) != nil { return try await body() }
        let batch = TransactionBatch(store: self)
        let result: T
        do {
            result = try await TransactionBatch.$current.withValue(batch) { try await body() }
        } catch {
            _ = batch.end()
            if batch.isOpen {
                try? await sql.raw("ROLLBACK").run()
                lock.release()
            }
            throw error
        }
        let afterCommit = batch.end()
        guard batch.isOpen else { return result }
        do {
            try await sql.raw("COMMIT").run()
        } catch {
            try? await sql.raw("ROLLBACK").run()
            lock.release()
            throw error
        }
        lock.release()
        for action in afterCommit { action() }
        return result
    }

    public func afterCommit(_ action: @escaping @Sendable () -> Void) {
        if let batch = TransactionBatch.current(on: self), batch.isOpen {
            batch.queue(action)
        } else {
            action()
        }
    }

    /// One transaction of a batch: a savepoint, opening the batch's transaction first.
    private func inBatch<T: Sendable>(_ batch: TransactionBatch, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await batch.turn.withLock {
            if !batch.isOpen {
                await lock.acquire()
                do {
                    try await sql.raw("BEGIN IMMEDIATE").run()
                } catch {
                    lock.release()
                    throw error
                }
                batch.markOpen()
            }
            return try await sql.bracketed(.savepoint(TransactionBatch.savepoint), body)
        }
    }

    public func close() async throws {
        let connection = self.connection
        let reader = self.reader
        try await lock.withLock { connection.close() }
        if let reader { try await readLock.withLock { reader.close() } }
    }

    deinit {
        // Closing twice does nothing.
        reader?.close()
        connection.close()
    }
}
