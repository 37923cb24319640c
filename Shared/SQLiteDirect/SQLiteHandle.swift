internal import CSQLite3

/// One sqlite3 connection through the C API, called directly on the caller's thread.
///
/// The store's locks make sure one caller uses it at a time. SQLite statements on a local
/// file in WAL mode take microseconds (a commit with `synchronous=NORMAL` does not wait
/// for the disk), so running them inline costs less than handing each one to a thread
/// pool and back, which is what a reply's ten statements used to pay. Prepared
/// statements are kept by SQL text and reused.
public final class SQLiteHandle: @unchecked Sendable {
    private let connection: OpaquePointer
    public let path: String
    /// Prepared statements by SQL text; only touched by the one caller holding the store's lock.
    private var statements: [String: OpaquePointer] = [:]
    private static let cacheLimit = 512
    private var isClosed = false

    public init(path: String) throws {
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI
        let result = sqlite3_open_v2(path == ":memory:" ? ":memory:" : path, &opened, flags, nil)
        guard result == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(result))
            if let opened { sqlite3_close_v2(opened) }
            throw SQLiteFailure(message: message, code: result)
        }
        connection = opened
        self.path = path
        sqlite3_extended_result_codes(connection, 1)
    }

    /// Runs one statement with `binds`, calling `onRow` for each result row.
    public func execute(_ sql: String, _ binds: [SQLiteValue], onRow: (_ columns: [String], _ values: [SQLiteValue]) throws -> Void) throws {
        guard !isClosed else { throw SQLiteFailure(message: "the database \(path) is closed", code: SQLITE_MISUSE) }
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in binds.enumerated() {
            let position = Int32(index + 1)
            let result: Int32 = switch value {
            case .integer(let integer): sqlite3_bind_int64(statement, position, integer)
            case .real(let double): sqlite3_bind_double(statement, position, double)
            case .text(let text): sqlite3_bind_text(statement, position, text, -1, Self.transient)
            case .blob(let bytes):
                bytes.withUnsafeBytes { bytes in
                    sqlite3_bind_blob(statement, position, bytes.baseAddress, Int32(bytes.count), Self.transient)
                }
            case .null: sqlite3_bind_null(statement, position)
            }
            guard result == SQLITE_OK else { throw failure(result, sql) }
        }
        var columns: [String]?
        while true {
            let result = sqlite3_step(statement)
            if result == SQLITE_DONE { return }
            guard result == SQLITE_ROW else { throw failure(result, sql) }
            let count = sqlite3_column_count(statement)
            if columns == nil {
                columns = (0..<count).map { String(cString: sqlite3_column_name(statement, $0)) }
            }
            var values: [SQLiteValue] = []
            values.reserveCapacity(Int(count))
            for column in 0..<count {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(statement, column)))
                case SQLITE_TEXT: values.append(.text(String(cString: sqlite3_column_text(statement, column))))
                case SQLITE_BLOB:
                    let length = Int(sqlite3_column_bytes(statement, column))
                    if let bytes = sqlite3_column_blob(statement, column) {
                        values.append(.blob(Array(UnsafeRawBufferPointer(start: bytes, count: length))))
                    } else {
                        values.append(.blob([]))
                    }
                default: values.append(.null)
                }
            }
            try onRow(columns ?? [], values)
        }
    }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        sqlite3_close_v2(connection)
    }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        if statements.count >= Self.cacheLimit {
            for statement in statements.values { sqlite3_finalize(statement) }
            statements.removeAll()
        }
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v2(connection, sql, -1, &statement, nil)
        guard result == SQLITE_OK, let statement else { throw failure(result, sql) }
        statements[sql] = statement
        return statement
    }

    private func failure(_ code: Int32, _ sql: String) -> SQLiteFailure {
        SQLiteFailure(message: "\(String(cString: sqlite3_errmsg(connection))) in: \(sql.prefix(200))", code: code)
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bound value before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// A value as SQLite stores it.
public enum SQLiteValue: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null
}

/// An error from SQLite, with its (extended) result code.
public struct SQLiteFailure: Error, CustomStringConvertible {
    public let message: String
    public let code: Int32
    public var description: String { "SQLite error \(code): \(message)" }
}

