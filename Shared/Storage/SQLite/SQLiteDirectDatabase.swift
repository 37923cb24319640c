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
        let value = try value(column)
        // The column types every store reads, without the generic decoder.
        switch value {
        case .text(let text) where type == String.self || type == String?.self:
            return text as! D
        case .integer(let integer) where type == Int64.self || type == Int64?.self:
            return integer as! D
        case .integer(let integer) where type == Int.self || type == Int?.self:
            return Int(integer) as! D
        case .null where type == String?.self:
            return String?.none as! D
        case .null where type == Int?.self:
            return Int?.none as! D
        case .null where type == Int64?.self:
            return Int64?.none as! D
        default:
            return try SQLiteDataDecoder().decode(D.self, from: value.data)
        }
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
        let values = try binds.map(Self.value)
        try handle.execute(sql, values) { columns, values in onRow(SQLiteResultRow(columns: columns, values: values)) }
    }
}

extension SQLiteDirectDatabase {
    /// A bound value as SQLite stores it: the common types directly, the rest as SQLiteKit encodes them.
    static func value(_ bind: any Encodable & Sendable) throws -> SQLiteValue {
        switch bind {
        case let text as String: .text(text)
        case let integer as Int: .integer(Int64(integer))
        case let integer as Int64: .integer(integer)
        case let integer as Int32: .integer(Int64(integer))
        case let double as Double: .real(double)
        case let flag as Bool: .integer(flag ? 1 : 0)
        case let text as String?: text.map(SQLiteValue.text) ?? .null
        case let integer as Int?: integer.map { .integer(Int64($0)) } ?? .null
        case let integer as Int64?: integer.map(SQLiteValue.integer) ?? .null
        default: SQLiteValue(try SQLiteDataEncoder().encode(bind))
        }
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
