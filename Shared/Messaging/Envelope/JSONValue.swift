import Foundation

/// A JSON value: saga data, predicate operands, values a decision sets.
public enum JSONValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Decimal)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Decimal.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .array(let value): "[\(value.map(\.description).joined(separator: ", "))]"
        case .object(let value): "{\(value.sorted { $0.key < $1.key }.map { key, value in "\(key): \(value)" }.joined(separator: ", "))}"
        }
    }

    /// The value at a dotted path such as `customer.tier`, or nil.
    public subscript(path path: String) -> JSONValue? {
        var current: JSONValue? = self
        for key in path.split(separator: ".") {
            guard case .object(let object)? = current else { return nil }
            current = object[String(key)]
        }
        return current
    }

    /// Sets the value at a dotted path, creating objects on the way.
    public mutating func set(_ path: String, to value: JSONValue) {
        let keys = path.split(separator: ".").map(String.init)
        guard !keys.isEmpty else { return }
        self = Self.setting(self, keys[...], value)
    }

    private static func setting(_ base: JSONValue, _ keys: ArraySlice<String>, _ value: JSONValue) -> JSONValue {
        guard let first = keys.first else { return value }
        var object: [String: JSONValue] = if case .object(let existing) = base { existing } else { [:] }
        object[first] = setting(object[first] ?? .null, keys.dropFirst(), value)
        return .object(object)
    }

    /// The value as a number, from a number or a decimal string such as `"100.00"`.
    public var decimal: Decimal? {
        switch self {
        case .number(let value): value
        case .string(let text): Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
        default: nil
        }
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// Converts any `Encodable` value: what its JSON text reads back as.
    public init(encoding value: some Encodable) throws {
        self = try SortedJSONEncoder.jsonValue(value)
    }

    /// Decodes the value as `T`: what its JSON text would decode to.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONValueDecoding.decode(T.self, from: self)
    }
}
