import ArgumentParser
import Contracts
import Foundation
import Logging
import Messaging
import SQLKit
import Storage

/// `ensemble bench store`: transactions per second of the transaction every handled
/// message costs a service — inbox row, state change, outbox rows — one commit each, and
/// grouped as a consumer groups a poll batch.
struct StoreBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Transactions per second of a typical inbox + state + outbox transaction, alone and grouped.",
        discussion: """
        Each transaction records a message in the inbox, rewrites one state row (a JSON
        document of --state-bytes) and adds a reply and an event to the outbox, as a
        participant or the orchestrator does for every message. It runs --transactions of
        them one commit each, then again in groups of --group inside one group commit
        (Database.batch, what a consumer does with a poll batch). The database is a new
        SQLite file in a temporary directory (SQLITE_SYNCHRONOUS applies), or the one
        --database-url names, which must not be a running service's: the bench writes inbox
        and outbox rows there (and removes them at the end), and a relay would try to
        publish them.
        """
    )

    @Option(help: "Transactions per run.")
    var transactions = 5_000

    @Option(help: "Transactions per group commit in the grouped run.")
    var group = 64

    @Option(help: "Size of the state document rewritten by each transaction.")
    var stateBytes = 2_048

    @Option(help: "sqlite:///path or postgres://… (default: a temporary SQLite file).")
    var databaseURL: String?

    @Flag(help: "Print one JSON object on standard output instead of the table.")
    var json = false

    func validate() throws {
        guard transactions > 0, group > 0, stateBytes > 0 else { throw ValidationError("--transactions, --group and --state-bytes must be positive") }
    }

    struct Run: Codable {
        var group: Int
        var transactionsPerSecond: Double
        var microsecondsPerTransaction: Double
    }

    struct Result: Codable {
        var database: String
        var transactions: Int
        var alone: Run
        var grouped: Run

        var table: String {
            TextTable(title: "ensemble bench store — \(transactions) inbox + state + outbox transactions, \(database)", columns: ["commits", "transactions/s", "µs per transaction"], rows: [
                ["one per transaction", format(alone.transactionsPerSecond, 0), format(alone.microsecondsPerTransaction, 1)],
                ["one per \(grouped.group) (group commit)", format(grouped.transactionsPerSecond, 0), format(grouped.microsecondsPerTransaction, 1)],
            ]).rendered
        }
    }

    func run() async throws {
        var logger = Logger(label: "ensemble.bench.store")
        logger.logLevel = .warning
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ensemble-bench-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (database, description): (any Database, String) = try await {
            if let url = databaseURL {
                if url.hasPrefix("sqlite://") {
                    let path = String(url.dropFirst("sqlite://".count))
                    return (try await SQLiteStore.open(path: path, logger: logger), "SQLite \(path)")
                }
                let store = try await PostgresStore.open(url: url, logger: logger)
                return (store, "PostgreSQL \(store.location)")
            }
            let path = directory.appendingPathComponent("bench.sqlite").path
            let synchronous = ProcessInfo.processInfo.environment["SQLITE_SYNCHRONOUS"] == "FULL" ? "FULL" : "NORMAL"
            return (try await SQLiteStore.open(path: path, logger: logger), "SQLite, WAL, synchronous=\(synchronous)")
        }()
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let table = "bench_state_\(suffix)"
        try await Migrator.migrate(database, Storage.messagingMigrations + [
            Migration("bench-\(suffix)") { _ in ["CREATE TABLE \(table) (id TEXT PRIMARY KEY, state TEXT NOT NULL)"] },
        ], logger: logger)
        try await database.transaction { sql in
            for index in 0..<1000 { try await sql.raw("INSERT INTO \(unsafeRaw: table) (id, state) VALUES (\(bind: "o\(index)"), '{}')").run() }
        }
        let state = String(repeating: "x", count: stateBytes)
        let reply = try Envelope(StockReserved(orderID: "o0"), correlationID: "o0")
        let (replies, events) = ("bench-\(suffix).replies", "bench-\(suffix).events")

        /// One message's transaction, as `CommandExecutor` runs it.
        @Sendable func handle(_ index: Int) async throws {
            let envelope = Envelope(messageType: ReserveStock.messageType, correlationID: "bench-\(suffix)-\(index)", replyTo: replies, body: Data("{}".utf8))
            try await database.transaction { sql in
                guard try await Inbox.recordIfNew(envelope, in: sql) else { return }
                try await sql.raw("UPDATE \(unsafeRaw: table) SET state = \(bind: state) WHERE id = \(bind: "o\(index % 1000)")").run()
                try await Outbox.add([OutboxMessage(reply, topic: replies), OutboxMessage(reply, topic: events)], in: sql)
            }
        }
        func timed(_ body: () async throws -> Void) async throws -> Double {
            let elapsed = try await ContinuousClock().measure { try await body() }
            return elapsed.seconds
        }
        let total = transactions
        let groupSize = group
        let alone = try await timed {
            for index in 0..<total { try await handle(index) }
        }
        let grouped = try await timed {
            var index = 0
            while index < total {
                let range = index..<min(total, index + groupSize)
                try await database.batch {
                    for position in range { try await handle(position) }
                }
                index = range.upperBound
            }
        }
        try await database.transaction { sql in
            try await sql.raw("DROP TABLE \(unsafeRaw: table)").run()
            try await sql.raw("DELETE FROM inbox WHERE correlation_id LIKE \(bind: "bench-\(suffix)-%")").run()
            try await sql.raw("DELETE FROM outbox WHERE topic IN (\(bind: replies), \(bind: events))").run()
            try await sql.raw("DELETE FROM schema_migrations WHERE name = \(bind: "bench-\(suffix)")").run()
        }
        try await database.close()

        func run(_ seconds: Double, group: Int) -> Run {
            Run(group: group, transactionsPerSecond: Double(total) / seconds, microsecondsPerTransaction: seconds * 1e6 / Double(total))
        }
        let result = Result(database: description, transactions: total, alone: run(alone, group: 1), grouped: run(grouped, group: groupSize))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            print(result.table)
        }
    }
}
