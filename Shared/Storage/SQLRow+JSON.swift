import Foundation
import Messaging
import SQLKit

extension SQLRow {
    /// Decodes a TEXT column holding JSON (written with `StorageJSON.encode`).
    public func decodeJSON<T: Decodable>(column: String, as type: T.Type) throws -> T {
        let text = try decode(column: column, as: String.self)
        do {
            return try MessageCoding.decode(T.self, from: Data(text.utf8))
        } catch {
            throw StorageError(code: .corruptRow, message: "column \(column) does not hold a \(T.self): \(MessageCoding.explain(error))")
        }
    }

    /// Decodes a TEXT column holding an enum's stable string form.
    public func decodeEnum<T: RawRepresentable>(column: String, as type: T.Type) throws -> T where T.RawValue == String {
        let text = try decode(column: column, as: String.self)
        guard let value = T(rawValue: text) else {
            throw StorageError(code: .corruptRow, message: "column \(column): '\(text)' is not a \(T.self)")
        }
        return value
    }

    /// Like `decodeJSON`, for a nullable column.
    public func decodeJSONIfPresent<T: Decodable>(column: String, as type: T.Type) throws -> T? {
        guard let text = try decode(column: column, as: String?.self) else { return nil }
        do {
            return try MessageCoding.decode(T.self, from: Data(text.utf8))
        } catch {
            throw StorageError(code: .corruptRow, message: "column \(column) does not hold a \(T.self): \(MessageCoding.explain(error))")
        }
    }
}

/// JSON for TEXT columns, in the same conventions as message bodies.
public enum StorageJSON {
    public static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try MessageCoding.encode(value), as: UTF8.self)
    }

    public static func encodeIfPresent(_ value: (some Encodable)?) throws -> String? {
        try value.map { try encode($0) }
    }
}
