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

    /// A saga's history as rows appended with each change, instead of inside the state
    /// document, which would otherwise be re-encoded whole, growing, on every reply.
    static let historyMigration = Migration("orchestrator-004-saga-history") { _ in
        [
            """
            CREATE TABLE saga_history (
                saga_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                at TEXT NOT NULL,
                step TEXT,
                event TEXT NOT NULL,
                detail TEXT,
                PRIMARY KEY (saga_id, seq)
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

    /// `cache` (the runner's) remembers the document written, so the next reply to this
    /// saga need not decode it again.
    static func insert(_ saga: SagaInstance, in sql: any SQLDatabase, cache: DocumentCache<SagaInstance>? = nil) async throws {
        var saga = saga
        let events = takeHistory(&saga)
        let state = saga.stateJSON()
        try await sql.raw("""
        INSERT INTO sagas (id, definition_name, definition_version, customer_id, status, state, next_deadline, created_at, updated_at)
        VALUES (\(bind: saga.id), \(bind: saga.definitionName), \(bind: saga.definitionVersion), \(bind: saga.customerID),
                \(bind: saga.status.rawValue), \(bind: state), \(bind: saga.nextDeadline.map(StorageClock.format)),
                \(bind: StorageClock.format(saga.createdAt)), \(bind: StorageClock.format(saga.updatedAt)))
        """).run()
        try await append(events, in: sql)
        cache?.remember(saga.id, text: state, value: saga)
    }

    /// Writes the saga's state, then its new history rows: the state's row first, so that of
    /// two orchestrators changing one saga at once (PostgreSQL) the second meets the first's
    /// write there and is retried whole, rather than meeting its history rows.
    static func update(_ saga: SagaInstance, in sql: any SQLDatabase, cache: DocumentCache<SagaInstance>? = nil) async throws {
        var saga = saga
        let events = takeHistory(&saga)
        let state = saga.stateJSON()
        try await sql.raw("""
        UPDATE sagas SET status = \(bind: saga.status.rawValue), state = \(bind: state),
            next_deadline = \(bind: saga.status.isFinished ? nil : saga.nextDeadline.map(StorageClock.format)),
            updated_at = \(bind: StorageClock.format(saga.updatedAt))
        WHERE id = \(bind: saga.id)
        """).run()
        try await append(events, in: sql)
        if saga.status.isFinished {
            cache?.forget(saga.id)
        } else {
            cache?.remember(saga.id, text: state, value: saga)
        }
    }

    /// The events added since the saga was read, with their sequence numbers; the saga
    /// keeps none of them in its document and counts them as stored.
    private static func takeHistory(_ saga: inout SagaInstance) -> (saga: String, first: Int, events: [SagaEvent]) {
        let taken = (saga.id, saga.storedHistory, saga.history)
        saga.storedHistory += saga.history.count
        saga.history = []
        return taken
    }

    /// Appends history rows (one statement).
    private static func append(_ taken: (saga: String, first: Int, events: [SagaEvent]), in sql: any SQLDatabase) async throws {
        guard !taken.events.isEmpty else { return }
        var query = SQLQueryString("INSERT INTO saga_history (saga_id, seq, at, step, event, detail) VALUES ")
        for (index, event) in taken.events.enumerated() {
            query.appendInterpolation(unsafeRaw: index == 0 ? "(" : ", (")
            query.appendInterpolation(bind: taken.saga)
            query.appendInterpolation(unsafeRaw: ", ")
            query.appendInterpolation(bind: taken.first + index)
            query.appendInterpolation(unsafeRaw: ", ")
            query.appendInterpolation(bind: StorageClock.format(event.at))
            query.appendInterpolation(unsafeRaw: ", ")
            query.appendInterpolation(bind: event.step)
            query.appendInterpolation(unsafeRaw: ", ")
            query.appendInterpolation(bind: event.event.rawValue)
            query.appendInterpolation(unsafeRaw: ", ")
            query.appendInterpolation(bind: event.detail)
            query.appendInterpolation(unsafeRaw: ")")
        }
        try await sql.raw(query).run()
    }

    /// The saga for the engine: its state, without the history already stored (decoded
    /// again only when its text differs from what `cache` holds).
    static func saga(_ id: String, in sql: any SQLDatabase, cache: DocumentCache<SagaInstance>? = nil) async throws -> SagaInstance? {
        guard let row = try await sql.raw("SELECT state FROM sagas WHERE id = \(bind: id)").first() else { return nil }
        guard let cache else { return try row.decodeJSON(column: "state", as: SagaInstance.self) }
        let text = try row.decode(column: "state", as: String.self)
        return try cache.value(id, text: text) { _ in try row.decodeJSON(column: "state", as: SagaInstance.self) }
    }

    /// The saga with its whole history, for the API.
    static func sagaWithHistory(_ id: String, in sql: any SQLDatabase) async throws -> SagaInstance? {
        guard var saga = try await saga(id, in: sql) else { return nil }
        try await attachHistory(to: &saga, in: sql)
        return saga
    }

    /// Puts the stored rows in front of what the document still holds (a saga written
    /// before the history had its own table keeps its events in the document until its
    /// next change moves them).
    private static func attachHistory(to saga: inout SagaInstance, in sql: any SQLDatabase) async throws {
        guard saga.storedHistory > 0 else { return }
        let rows = try await sql.raw("SELECT at, step, event, detail FROM saga_history WHERE saga_id = \(bind: saga.id) ORDER BY seq").all()
        let stored = try rows.map { row in
            let text = try row.decode(column: "event", as: String.self)
            guard let kind = SagaEvent.Kind(rawValue: text) else {
                throw StorageError(code: .corruptRow, message: "saga \(saga.id): unknown history event '\(text)'")
            }
            return SagaEvent(
                at: StorageClock.parse(try row.decode(column: "at", as: String.self)) ?? .distantPast,
                step: try row.decode(column: "step", as: String?.self), event: kind, detail: try row.decode(column: "detail", as: String?.self)
            )
        }
        saga.history = stored + saga.history
    }

    /// A page of sagas, without their history.
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
