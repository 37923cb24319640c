import Foundation
import Logging
import Storage

/// The database the tests run on: a SQLite file by default; with
/// `ENSEMBLE_TEST_DATABASE=postgresql`, a fresh database per name on the server
/// `ENSEMBLE_TEST_POSTGRES_URL` points at (`make test` starts a private cluster and runs
/// the storage, participant, orchestrator and integration suites on both).
public enum TestDatabase {
    public enum Backend: String, Sendable {
        case sqlite
        case postgresql
    }

    public static var backend: Backend {
        ProcessInfo.processInfo.environment["ENSEMBLE_TEST_DATABASE"].flatMap(Backend.init(rawValue:)) ?? .sqlite
    }

    /// Opens a new, empty database.
    public static func open(_ label: String = "test", logger: Logger = Logger(label: "test")) async throws -> any Database {
        switch backend {
        case .sqlite:
            return try await SQLiteStore.open(path: FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString).sqlite").path, logger: logger)
        case .postgresql:
            return try await PostgresStore.open(url: try await url("\(label)_\(UUID().uuidString.prefix(8))"), logger: logger)
        }
    }

    /// A `DATABASE_URL` for the database called `name`, created when it does not exist yet
    /// (the same name again is the same database, as after a restart); `nil` on SQLite,
    /// where a service's file under its data directory plays that part.
    public static func url(_ name: String) async throws -> String {
        let server = try serverURL()
        let database = "t_" + String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.suffix(60))
        let admin = try await Admin.shared.store(server)
        let exists = try await admin.autocommit { sql in
            try await sql.raw("SELECT 1 AS one FROM pg_database WHERE datname = \(bind: database)").first() != nil
        }
        if !exists {
            do {
                try await admin.autocommit { sql in try await sql.raw("CREATE DATABASE \(ident: database)").run() }
            } catch {
                // Another test created it first.
                let created = try await admin.autocommit { sql in
                    try await sql.raw("SELECT 1 AS one FROM pg_database WHERE datname = \(bind: database)").first() != nil
                }
                if !created { throw error }
            }
        }
        guard var components = URLComponents(string: server) else { throw TestDatabaseMissing() }
        components.path = "/" + database
        components.queryItems = [URLQueryItem(name: "pool", value: "4")]
        return components.string ?? server
    }

    /// A `DATABASE_URL` for a service in a test stack, or `nil` on SQLite.
    public static func serviceURL(_ name: String) async throws -> String? {
        backend == .postgresql ? try await url(name) : nil
    }

    static func serverURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["ENSEMBLE_TEST_POSTGRES_URL"], !url.isEmpty else { throw TestDatabaseMissing() }
        return url
    }
}

struct TestDatabaseMissing: Error, CustomStringConvertible {
    var description: String {
        "ENSEMBLE_TEST_DATABASE=postgresql needs ENSEMBLE_TEST_POSTGRES_URL, the server `make test` starts (scripts/postgres.sh start DIR prints it)"
    }
}

extension TestDatabase {
    /// Opens the same new database each time it is called: a restart in a test.
    public static func reopenable(_ label: String = "test", logger: Logger = Logger(label: "test")) -> @Sendable () async throws -> any Database {
        let name = "\(label)-\(UUID().uuidString)"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).sqlite").path
        return {
            switch backend {
            case .sqlite: try await SQLiteStore.open(path: path, logger: logger)
            case .postgresql: try await PostgresStore.open(url: try await url(name), logger: logger)
            }
        }
    }
}

/// One connection pool to the test server's `postgres` database, for creating the tests'
/// databases, opened on first use and kept for the test process.
private actor Admin {
    static let shared = Admin()
    private var opened: PostgresStore?

    func store(_ url: String) async throws -> PostgresStore {
        if let opened { return opened }
        let store = try await PostgresStore.open(url: url, logger: Logger(label: "test-admin"))
        opened = store
        return store
    }
}
