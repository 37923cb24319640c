import Foundation
import SQLiteDirect

/// Every row of every table of one SQLite database, as text: taken before and after a
/// replay to show that handling every message again changed nothing.
struct TableSnapshot: Sendable, Equatable {
    /// Table name → its rows, each rendered as one line, sorted.
    let tables: [String: [String]]

    static func take(path: String) throws -> TableSnapshot {
        let handle = try SQLiteHandle(path: path)
        defer { handle.close() }
        try handle.execute("PRAGMA busy_timeout = 10000", []) { _, _ in }
        var names: [String] = []
        try handle.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name", []) { _, values in
            if case .text(let name) = values.first { names.append(name) }
        }
        var tables: [String: [String]] = [:]
        for name in names {
            var rows: [String] = []
            try handle.execute("SELECT * FROM \"\(name)\"", []) { columns, values in
                rows.append(zip(columns, values).map { "\($0)=\(render($1))" }.joined(separator: "|"))
            }
            tables[name] = rows.sorted()
        }
        return TableSnapshot(tables: tables)
    }

    private static func render(_ value: SQLiteValue) -> String {
        switch value {
        case .integer(let integer): "\(integer)"
        case .real(let real): "\(real)"
        case .text(let text): text.debugDescription
        case .blob(let bytes): "x'" + bytes.map { String(format: "%02x", $0) }.joined() + "'"
        case .null: "NULL"
        }
    }

    var rowCount: Int { tables.values.map(\.count).reduce(0, +) }

    /// The tables whose rows differ from `other`'s, with rows added and removed.
    func changes(since other: TableSnapshot) -> [TableChange] {
        Set(tables.keys).union(other.tables.keys).sorted().compactMap { name in
            let now = Set(tables[name] ?? [])
            let before = Set(other.tables[name] ?? [])
            guard now != before else { return nil }
            return TableChange(table: name, added: now.subtracting(before).count, removed: before.subtracting(now).count)
        }
    }
}

/// How one table changed.
struct TableChange: Sendable, Codable, Equatable {
    var table: String
    var added: Int
    var removed: Int
}
