import Foundation
import Messaging
import SQLKit

/// The outbox table: messages written in the same transaction as the change that caused
/// them, published later by `OutboxRelay`.
public enum Outbox {
    public static let migration = Migration("messaging-001-outbox") { dialect in
        let id = dialect == .postgresql ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
        return ["""
        CREATE TABLE outbox (
            id \(id),
            topic TEXT NOT NULL,
            message_key TEXT,
            headers TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """]
    }

    public static func add(_ messages: [OutboxMessage], in sql: any SQLDatabase) async throws {
        guard !messages.isEmpty else { return }
        // One INSERT for the whole batch: every statement is a round trip to the database.
        let now = StorageClock.now()
        var query = SQLQueryString("INSERT INTO outbox (topic, message_key, headers, body, created_at) VALUES ")
        for (index, message) in messages.enumerated() {
            let headers = JSONText.encodePairs(message.headers)
            query.appendInterpolation(unsafeRaw: index == 0 ? "(" : ", (")
            query.appendInterpolation(bind: message.topic)
            query.appendInterpolation(unsafeRaw: ", ")
            query.appendInterpolation(bind: message.key)
            query.appendInterpolation(unsafeRaw: ", ")
            query.appendInterpolation(bind: headers)
            query.appendInterpolation(unsafeRaw: ", ")
            query.appendInterpolation(bind: message.body)
            query.appendInterpolation(unsafeRaw: ", ")
            query.appendInterpolation(bind: now)
            query.appendInterpolation(unsafeRaw: ")")
        }
        try await sql.raw(query).run()
    }

    /// The oldest unpublished messages, in the order they were written.
    public static func pending(limit: Int, in sql: any SQLDatabase) async throws -> [(id: Int64, message: OutboxMessage)] {
        try await sql.raw("SELECT id, topic, message_key, headers, body FROM outbox ORDER BY id LIMIT \(bind: limit)").all().map { row in
            let headersText = try row.decode(column: "headers", as: String.self)
            guard let headers = JSONText.decodePairs(headersText) else {
                throw StorageError(code: .corruptRow, message: "outbox row \(try row.decode(column: "id", as: Int64.self)) has unreadable headers")
            }
            return (
                id: try row.decode(column: "id", as: Int64.self),
                message: OutboxMessage(
                    topic: try row.decode(column: "topic", as: String.self),
                    key: try row.decode(column: "message_key", as: String?.self),
                    headers: headers,
                    body: try row.decode(column: "body", as: String.self)
                )
            )
        }
    }

    public static func remove(ids: [Int64], in sql: any SQLDatabase) async throws {
        guard !ids.isEmpty else { return }
        // By id, not by range: on PostgreSQL a lower id can commit after a higher one was
        // read, and a range would remove it unpublished.
        try await sql.raw("DELETE FROM outbox WHERE id IN (\(binds: ids))").run()
    }

    public static func count(in sql: any SQLDatabase) async throws -> Int {
        try await sql.raw("SELECT COUNT(*) AS n FROM outbox").first()?.decode(column: "n", as: Int.self) ?? 0
    }
}

extension OutboxMessage {
    init(topic: String, key: String?, headers: [[String]], body: String) {
        self.topic = topic
        self.key = key
        self.headers = headers
        self.body = body
    }
}
