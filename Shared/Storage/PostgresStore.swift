import Foundation
import Logging
import PostgresKit
import PostgresNIO
import SQLKit

/// A service database on a PostgreSQL server, for deployments with several instances of a
/// service (compose, `ensemble up --processes --replicas`).
///
/// Writes run at `SERIALIZABLE`: every transaction behaves as if it ran alone, which is the
/// guarantee the SQLite store gets from its single writer, so the inbox check, the effect
/// and the outbox row of a message stay one atomic step even when two instances of one
/// service race on the same row. A transaction the server aborts for a serialization
/// failure or a deadlock is run again whole (its body only talks to the database), with a
/// short jittered backoff. Reads run as one `REPEATABLE READ` read-only snapshot.
public final class PostgresStore: Database {
    public let dialect = DatabaseDialect.postgresql
    /// Where it connects, without the password (for log lines and errors).
    public let location: String
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    /// How many times a transaction is tried before its serialization failure is thrown.
    static let attempts = 50

    private init(location: String, client: PostgresClient, logger: Logger) {
        self.location = location
        self.client = client
        self.logger = logger
        self.runner = Task { await client.run() }
    }

    /// Connects to the database a `postgres://user:password@host:port/database` URL names
    /// (`?sslmode=disable|prefer|require`, default `disable`; `?pool=N` connections, default 10)
    /// and checks it answers within `timeout`.
    public static func open(url: String, logger: Logger, timeout: Duration = .seconds(10)) async throws -> PostgresStore {
        let target = try PostgresURL(url)
        var configuration = PostgresClient.Configuration(
            host: target.host, port: target.port, username: target.user, password: target.password, database: target.database, tls: target.tls
        )
        configuration.options.connectTimeout = timeout
        configuration.options.maximumConnections = target.pool
        var clientLogger = logger
        clientLogger.logLevel = max(logger.logLevel, .notice)
        let client = PostgresClient(configuration: configuration, backgroundLogger: clientLogger)
        let store = PostgresStore(location: target.location, client: client, logger: clientLogger)
        do {
            try await withTimeout(timeout) {
                _ = try await store.autocommit { sql in try await sql.raw("SELECT 1 AS one").first() }
            }
        } catch {
            store.runner.cancel()
            throw StorageError(code: .unavailable, message: "cannot reach PostgreSQL at \(target.location): \(Self.describe(error))")
        }
        return store
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await client.withConnection { connection in
                    try await connection.sql(queryLogLevel: nil).bracketed(.transaction("BEGIN ISOLATION LEVEL SERIALIZABLE"), body)
                }
            } catch let error where Self.isRetryable(error) && attempt < Self.attempts {
                attempt += 1
                let cap = min(50, 1 << min(attempt, 6))
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...cap)))
            }
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await connection.sql(queryLogLevel: nil).bracketed(.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"), body)
        }
    }

    public func autocommit<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    public func close() async throws {
        runner.cancel()
    }

    deinit {
        runner.cancel()
    }

    /// A serialization failure (40001) or a deadlock (40P01): the transaction can be run again.
    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }

    /// The server's message when there is one (PSQLError hides it from `description`).
    public static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
            }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

/// The parts of a `postgres://` URL.
struct PostgresURL {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String?
    var tls: PostgresClient.Configuration.TLS
    var pool: Int
    var location: String { "\(host):\(port)/\(database ?? user)" }

    init(_ text: String) throws {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? ""), let host = components.host, !host.isEmpty else {
            throw StorageError(code: .unavailable, message: "not a PostgreSQL URL (postgres://user:password@host:port/database): \(text.split(separator: "@").last ?? "")")
        }
        self.host = host
        port = components.port ?? 5432
        user = components.percentEncodedUser?.removingPercentEncoding ?? "postgres"
        password = components.percentEncodedPassword?.removingPercentEncoding
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        database = path.isEmpty ? nil : path
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        switch query["sslmode"] ?? "disable" {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        case let other: throw StorageError(code: .unavailable, message: "sslmode=\(other) is not one of disable, prefer, require")
        }
        pool = Int(query["pool"] ?? "") ?? 10
        guard pool > 0 else { throw StorageError(code: .unavailable, message: "pool=\(query["pool"] ?? "") must be a positive number of connections") }
    }
}

/// Runs `body`, throwing `StorageError` if it takes longer than `limit`.
private func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw StorageError(code: .unavailable, message: "no answer within \(limit)")
        }
        return value
    }
}
