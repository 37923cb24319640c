import Foundation
import Messaging
import SQLKit

/// The inbox table: which messages were handled, and the replies they produced, so that
/// a redelivered message changes nothing and gets the same replies again.
public enum Inbox {
    public static let migration = Migration("messaging-002-inbox") { _ in
        ["""
        CREATE TABLE inbox (
            message_id TEXT PRIMARY KEY,
            message_type TEXT NOT NULL,
            correlation_id TEXT NOT NULL,
            handled_at TEXT NOT NULL,
            replies TEXT NOT NULL
        )
        """]
    }

    /// The replies stored for `messageID`, or `nil` when it was never handled.
    public static func replies(for messageID: UUID, in sql: any SQLDatabase) async throws -> [OutboxMessage]? {
        guard let row = try await sql.raw("SELECT replies FROM inbox WHERE message_id = \(bind: messageID.lowercasedText)").first() else {
            return nil
        }
        let text = try row.decode(column: "replies", as: String.self)
        guard let replies = try? JSONDecoder().decode([OutboxMessage].self, from: Data(text.utf8)) else {
            throw StorageError(code: .corruptRow, message: "inbox row \(messageID) has unreadable replies")
        }
        return replies
    }

    public static func record(_ envelope: Envelope, replies: [OutboxMessage], in sql: any SQLDatabase) async throws {
        let text = String(decoding: try MessageCoding.encode(replies), as: UTF8.self)
        try await sql.raw("""
        INSERT INTO inbox (message_id, message_type, correlation_id, handled_at, replies)
        VALUES (\(bind: envelope.messageID.lowercasedText), \(bind: envelope.messageType), \(bind: envelope.correlationID), \(bind: StorageClock.now()), \(bind: text))
        """).run()
    }
}

extension Inbox {
    /// Records a message that produces no replies; returns false when it was recorded before.
    /// One statement, for consumers (the orchestrator's) that only need "seen or not".
    public static func recordIfNew(_ envelope: Envelope, in sql: any SQLDatabase) async throws -> Bool {
        try await sql.raw("""
        INSERT INTO inbox (message_id, message_type, correlation_id, handled_at, replies)
        VALUES (\(bind: envelope.messageID.lowercasedText), \(bind: envelope.messageType), \(bind: envelope.correlationID), \(bind: StorageClock.now()), '[]')
        ON CONFLICT (message_id) DO NOTHING RETURNING message_id
        """).first() != nil
    }
}

extension Storage {
    /// The tables every service with an inbox and an outbox needs.
    public static let messagingMigrations = [Outbox.migration, Inbox.migration]
}

/// Namespace for module-level helpers.
public enum Storage {}
