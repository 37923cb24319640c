import Foundation
import Messaging
import SQLKit

extension SQLRow {
    /// Decodes a TEXT column holding JSON (written with `StorageJSON.encode`).
    public func decodeJSON<T: Decodable>(column: String, as type: T.Type) throws -> T {
        try Self.decodeJSON(try decode(column: column, as: String.self), column: column, as: T.self)
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
        return try Self.decodeJSON(text, column: column, as: T.self)
    }

    /// Like `decodeJSONIfPresent(column:as:)`, reusing the value `cache` holds for the same
    /// text: for small documents that many rows repeat or that are read again and again
    /// (an order's address and provenance in every refresh of its customer's profile).
    public func decodeJSONIfPresent<T: Decodable & Sendable>(column: String, as type: T.Type, cache: DocumentCache<T>) throws -> T? {
        guard let text = try decode(column: column, as: String?.self) else { return nil }
        return try cache.value(text, text: text) { try Self.decodeJSON($0, column: column, as: T.self) }
    }

    private static func decodeJSON<T: Decodable>(_ text: String, column: String, as type: T.Type) throws -> T {
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
