import Foundation
import SQLKit
import Storage

/// The circuit breakers' table: one row per route, its record as JSON. Every saga
/// transaction reads it and writes back what changed, so breaker state is shared by every
/// orchestrator on the database and survives restarts.
enum BreakerStore {
    static let migration = Migration("orchestrator-002-circuit-breakers") { _ in
        [
            """
            CREATE TABLE circuit_breakers (
                route TEXT PRIMARY KEY,
                record TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )
            """,
        ]
    }

    /// Every route's record; with `cache`, a record whose stored text did not change since
    /// it was last read is not decoded again (every saga transaction reads them all).
    static func all(in sql: any SQLDatabase, cache: DocumentCache<BreakerRecord>? = nil) async throws -> [BreakerRecord] {
        try await sql.raw("SELECT route, record FROM circuit_breakers ORDER BY route").all().map { row in
            guard let cache else { return try row.decodeJSON(column: "record", as: BreakerRecord.self) }
            let text = try row.decode(column: "record", as: String.self)
            return try cache.value(try row.decode(column: "route", as: String.self), text: text) { _ in
                try row.decodeJSON(column: "record", as: BreakerRecord.self)
            }
        }
    }

    static func save(_ records: [BreakerRecord], in sql: any SQLDatabase) async throws {
        for record in records {
            try await sql.raw("""
            INSERT INTO circuit_breakers (route, record, updated_at) VALUES (\(bind: record.route), \(bind: try StorageJSON.encode(record)), \(bind: StorageClock.now()))
            ON CONFLICT (route) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at
            """).run()
        }
    }
}
