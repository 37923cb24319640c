import Logging
import NIOCore
import SQLKit
import SQLiteDirect
import SQLiteKit

/// A result row: column names and values, decoded as SQLiteKit decodes them.
struct SQLiteResultRow: SQLRow {
    let columns: [String]
    let values: [SQLiteValue]

    var allColumns: [String] { columns }

    func contains(column: String) -> Bool { columns.contains(column) }

    func decodeNil(column: String) throws -> Bool { try value(column) == .null }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        try SQLiteDataDecoder().decode(D.self, from: try value(column).data)
    }

    private func value(_ column: String) throws -> SQLiteValue {
        guard let index = columns.firstIndex(of: column) else { throw MissingColumn(column: column, columns: columns) }
        return values[index]
    }

    struct MissingColumn: Error, CustomStringConvertible {
        let column: String
        let columns: [String]
        var description: String { "no column \(column) in the row (\(columns.joined(separator: ", ")))" }
    }
}

/// SQLKit over a `SQLiteHandle`: statements serialized in SQLite's dialect and run inline.
struct SQLiteDirectDatabase: SQLDatabase {
    let handle: SQLiteHandle
    let logger: Logger

    var eventLoop: any EventLoop { NIOSingletons.posixEventLoopGroup.any() }
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        let loop = eventLoop
        do {
            try run(query, onRow)
            return loop.makeSucceededVoidFuture()
        } catch {
            return loop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        try run(query, onRow)
    }

    private func run(_ query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) throws {
        let (sql, binds) = serialize(query)
        let encoder = SQLiteDataEncoder()
        let values = try binds.map { try SQLiteValue(try encoder.encode($0)) }
        try handle.execute(sql, values) { columns, values in onRow(SQLiteResultRow(columns: columns, values: values)) }
    }
}

extension SQLiteValue {
    /// SQLiteKit's value, which its decoder reads.
    var data: SQLiteData {
        switch self {
        case .integer(let integer): .integer(Int(integer))
        case .real(let double): .float(double)
        case .text(let text): .text(text)
        case .blob(let bytes): .blob(ByteBuffer(bytes: bytes))
        case .null: .null
        }
    }

    /// From what SQLiteKit's encoder made of a bound value.
    init(_ data: SQLiteData) {
        switch data {
        case .integer(let integer): self = .integer(Int64(integer))
        case .float(let double): self = .real(double)
        case .text(let text): self = .text(text)
        case .blob(let buffer): self = .blob(Array(buffer.readableBytesView))
        case .null: self = .null
        }
    }
}
