import Foundation
import Messaging
import SQLKit
import Storage

/// The orchestrator's tables: saga definitions (every version), sagas (one per order, its
/// state as JSON plus the columns queries need), and idempotency keys.
enum SagaStore {
    static let migration = Migration("orchestrator-001-sagas") { _ in
        [
            """
            CREATE TABLE saga_definitions (
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                document TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (name, version)
            )
            """,
            """
            CREATE TABLE sagas (
                id TEXT PRIMARY KEY,
                definition_name TEXT NOT NULL,
                definition_version INTEGER NOT NULL,
                customer_id TEXT NOT NULL,
                status TEXT NOT NULL,
                state TEXT NOT NULL,
                next_deadline TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX sagas_status ON sagas (status, created_at)",
            "CREATE INDEX sagas_customer ON sagas (customer_id, created_at)",
            "CREATE INDEX sagas_deadline ON sagas (next_deadline)",
            """
            CREATE TABLE idempotency_keys (
                idempotency_key TEXT PRIMARY KEY,
                order_id TEXT NOT NULL,
                created_at TEXT NOT NULL
            )
            """,
        ]
    }

    // MARK: Definitions

    static func saveDefinition(_ definition: SagaDefinition, in sql: any SQLDatabase) async throws -> Bool {
        if try await sql.raw("SELECT 1 AS found FROM saga_definitions WHERE name = \(bind: definition.name) AND version = \(bind: definition.version)").first() != nil {
            return false
        }
        try await sql.raw("""
        INSERT INTO saga_definitions (name, version, document, created_at)
        VALUES (\(bind: definition.name), \(bind: definition.version), \(bind: try StorageJSON.encode(definition)), \(bind: StorageClock.now()))
        """).run()
        return true
    }

    static func definitions(in sql: any SQLDatabase) async throws -> [SagaDefinition] {
        try await sql.raw("SELECT document FROM saga_definitions ORDER BY name, version").all().map {
            try $0.decodeJSON(column: "document", as: SagaDefinition.self)
        }
    }

    // MARK: Sagas

    static func insert(_ saga: SagaInstance, in sql: any SQLDatabase) async throws {
        try await sql.raw("""
        INSERT INTO sagas (id, definition_name, definition_version, customer_id, status, state, next_deadline, created_at, updated_at)
        VALUES (\(bind: saga.id), \(bind: saga.definitionName), \(bind: saga.definitionVersion), \(bind: saga.customerID),
                \(bind: saga.status.rawValue), \(bind: try StorageJSON.encode(saga)), \(bind: saga.nextDeadline.map(StorageClock.format)),
                \(bind: StorageClock.format(saga.createdAt)), \(bind: StorageClock.format(saga.updatedAt)))
        """).run()
    }

    static func update(_ saga: SagaInstance, in sql: any SQLDatabase) async throws {
        try await sql.raw("""
        UPDATE sagas SET status = \(bind: saga.status.rawValue), state = \(bind: try StorageJSON.encode(saga)),
            next_deadline = \(bind: saga.status.isFinished ? nil : saga.nextDeadline.map(StorageClock.format)),
            updated_at = \(bind: StorageClock.format(saga.updatedAt))
        WHERE id = \(bind: saga.id)
        """).run()
    }

    static func saga(_ id: String, in sql: any SQLDatabase) async throws -> SagaInstance? {
        try await sql.raw("SELECT state FROM sagas WHERE id = \(bind: id)").first().map {
            try $0.decodeJSON(column: "state", as: SagaInstance.self)
        }
    }

    static func list(status: SagaStatus?, customer: String?, limit: Int, offset: Int, in sql: any SQLDatabase) async throws -> [SagaInstance] {
        var query = SQLQueryString("SELECT state FROM sagas WHERE 1 = 1")
        if let status { query.appendInterpolation(unsafeRaw: " AND status = "); query.appendInterpolation(bind: status.rawValue) }
        if let customer { query.appendInterpolation(unsafeRaw: " AND customer_id = "); query.appendInterpolation(bind: customer) }
        query.appendInterpolation(unsafeRaw: " ORDER BY created_at DESC, id LIMIT ")
        query.appendInterpolation(bind: limit)
        query.appendInterpolation(unsafeRaw: " OFFSET ")
        query.appendInterpolation(bind: offset)
        return try await sql.raw(query).all().map { try $0.decodeJSON(column: "state", as: SagaInstance.self) }
    }

    /// Sagas with a timer due at `now`.
    static func due(at now: Date, limit: Int, in sql: any SQLDatabase) async throws -> [String] {
        try await sql.raw("""
        SELECT id FROM sagas WHERE next_deadline IS NOT NULL AND next_deadline <= \(bind: StorageClock.format(now))
        ORDER BY next_deadline LIMIT \(bind: limit)
        """).all().map { try $0.decode(column: "id", as: String.self) }
    }

    static func unfinished(in sql: any SQLDatabase) async throws -> [String] {
        try await sql.raw("SELECT id FROM sagas WHERE status IN ('running', 'compensating')").all().map { try $0.decode(column: "id", as: String.self) }
    }

    static func earliestDeadline(in sql: any SQLDatabase) async throws -> Date? {
        guard let text = try await sql.raw("SELECT MIN(next_deadline) AS d FROM sagas WHERE next_deadline IS NOT NULL").first()?.decode(column: "d", as: String?.self) else {
            return nil
        }
        return MessageCoding.parseTimestamp(text)
    }

    // MARK: Idempotency keys

    static func order(forKey key: String, in sql: any SQLDatabase) async throws -> String? {
        try await sql.raw("SELECT order_id FROM idempotency_keys WHERE idempotency_key = \(bind: key)").first()?.decode(column: "order_id", as: String.self)
    }

    static func remember(key: String, order: String, in sql: any SQLDatabase) async throws {
        try await sql.raw("INSERT INTO idempotency_keys (idempotency_key, order_id, created_at) VALUES (\(bind: key), \(bind: order), \(bind: StorageClock.now()))").run()
    }
}
