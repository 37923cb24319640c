import Foundation

/// Encodes any `Encodable` as compact JSON with object keys in sorted order: the bytes
/// `JSONEncoder` writes with `[.sortedKeys, .withoutEscapingSlashes]` and MessageCoding's
/// conventions (dates as RFC 3339 strings, `Data` as base64, `URL` as its text, decimals
/// and doubles as plain numbers), in less time (`ensemble bench engine` prints both).
///
/// `JSONEncoder` was the largest frame of the stack's profile (7.6 %: every message body
/// and every stored document). Where it spends its time is generic: a new encoder object
/// and a dictionary per object, and a dynamic cast of every value against the types it
/// treats specially. This one keeps the members of an object in an array (sorted by their
/// UTF-8 bytes once, when written, as `JSONEncoder` sorts them on Linux), encodes numbers,
/// strings and booleans without casts, and writes through `JSONWriter`.
///
/// Coding paths are not tracked (`codingPath` is empty); the one error it throws, for a
/// non-finite number, names the value instead.
public enum SortedJSONEncoder {
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let node = try Node.of(value)
        var writer = JSONWriter(capacity: 512)
        node.write(to: &writer)
        return writer.data
    }
}

/// A value being encoded: scalars held as they are, containers by reference (a container
/// is filled after it was handed out).
private enum Node {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case number(String)
    case string(String)
    case array(ArrayBox)
    case object(ObjectBox)
    /// What a nested encoder (`superEncoder`) ends up with.
    case pending(NodeEncoder)

    static func of<T: Encodable>(_ value: T) throws -> Node {
        // Comparing metatypes is a pointer comparison; a cast of every value is not.
        if T.self == Date.self { return .string(RFC3339.format(value as! Date)) }
        if T.self == Decimal.self { return .number((value as! Decimal).description) }
        if T.self == Data.self { return .string((value as! Data).base64EncodedString()) }
        if T.self == URL.self { return .string((value as! URL).absoluteString) }
        let encoder = NodeEncoder()
        try value.encode(to: encoder)
        return encoder.node ?? .object(ObjectBox())
    }

    static func of(_ value: Double) throws -> Node {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "\(value) cannot be written as a JSON number"))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .number(text)
    }

    static func of(_ value: Float) throws -> Node {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "\(value) cannot be written as a JSON number"))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .number(text)
    }

    func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .bool(let value): writer.bool(value)
        case .int(let value): writer.number(value)
        case .uint(let value): writer.number(value)
        case .number(let text): writer.number(text: text)
        case .string(let value): writer.string(value)
        case .array(let box):
            writer.beginArray()
            for item in box.items { item.write(to: &writer) }
            writer.endArray()
        case .object(let box):
            writer.beginObject()
            for (key, value) in box.sortedMembers() {
                writer.key(key)
                value.write(to: &writer)
            }
            writer.endObject()
        case .pending(let encoder):
            (encoder.node ?? .object(ObjectBox())).write(to: &writer)
        }
    }
}

private final class ArrayBox {
    var items: [Node] = []
}

private final class ObjectBox {
    var members: [(key: String, value: Node)] = []

    /// By the keys' UTF-8 bytes; of a key set twice, the last value (as `JSONEncoder` keeps).
    func sortedMembers() -> [(key: String, value: Node)] {
        func before(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
        // Already in order (and no key twice) is common: no sort, no copy.
        if zip(members, members.dropFirst()).allSatisfy({ before($0.key, $1.key) }) { return members }
        // Stable, so that of equal keys the one written last comes last and is kept.
        let sorted = members.enumerated().sorted { a, b in
            before(a.element.key, b.element.key) || (a.element.key == b.element.key && a.offset < b.offset)
        }
        var result: [(key: String, value: Node)] = []
        result.reserveCapacity(sorted.count)
        for (_, member) in sorted {
            if result.last?.key == member.key { result.removeLast() }
            result.append(member)
        }
        return result
    }
}

private final class NodeEncoder: Encoder {
    var node: Node?
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object(let box) = node { return KeyedEncodingContainer(KeyedNodeContainer(box: box)) }
        let box = ObjectBox()
        node = .object(box)
        return KeyedEncodingContainer(KeyedNodeContainer(box: box))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array(let box) = node { return UnkeyedNodeContainer(box: box) }
        let box = ArrayBox()
        node = .array(box)
        return UnkeyedNodeContainer(box: box)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleNodeContainer(encoder: self) }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: ObjectBox
    var codingPath: [any CodingKey] { [] }

    private func put(_ key: Key, _ node: Node) { box.members.append((key.stringValue, node)) }

    mutating func encodeNil(forKey key: Key) { put(key, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) { put(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) { put(key, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(key, try .of(value)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(key, try .of(value)) }
    mutating func encode(_ value: Int, forKey key: Key) { put(key, .int(Int64(value))) }
    mutating func encode(_ value: Int8, forKey key: Key) { put(key, .int(Int64(value))) }
    mutating func encode(_ value: Int16, forKey key: Key) { put(key, .int(Int64(value))) }
    mutating func encode(_ value: Int32, forKey key: Key) { put(key, .int(Int64(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) { put(key, .int(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) { put(key, .uint(UInt64(value))) }
    mutating func encode(_ value: UInt8, forKey key: Key) { put(key, .uint(UInt64(value))) }
    mutating func encode(_ value: UInt16, forKey key: Key) { put(key, .uint(UInt64(value))) }
    mutating func encode(_ value: UInt32, forKey key: Key) { put(key, .uint(UInt64(value))) }
    mutating func encode(_ value: UInt64, forKey key: Key) { put(key, .uint(value)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { put(key, try .of(value)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBox()
        put(key, .object(nested))
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(box: nested))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        put(key, .array(nested))
        return UnkeyedNodeContainer(box: nested)
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let encoder = NodeEncoder()
        put(key, .pending(encoder))
        return encoder
    }
}

/// The scalar `encode` overloads of the unkeyed and single-value containers, which differ
/// only in where a value goes (`put`).
private protocol NodeSink {
    func put(_ node: Node)
}

extension NodeSink {
    mutating func encodeNil() { put(.null) }
    mutating func encode(_ value: Bool) { put(.bool(value)) }
    mutating func encode(_ value: String) { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(try .of(value)) }
    mutating func encode(_ value: Float) throws { put(try .of(value)) }
    mutating func encode(_ value: Int) { put(.int(Int64(value))) }
    mutating func encode(_ value: Int8) { put(.int(Int64(value))) }
    mutating func encode(_ value: Int16) { put(.int(Int64(value))) }
    mutating func encode(_ value: Int32) { put(.int(Int64(value))) }
    mutating func encode(_ value: Int64) { put(.int(value)) }
    mutating func encode(_ value: UInt) { put(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt8) { put(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt16) { put(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt32) { put(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt64) { put(.uint(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { put(try .of(value)) }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer, NodeSink {
    let box: ArrayBox
    var codingPath: [any CodingKey] { [] }
    var count: Int { box.items.count }

    func put(_ node: Node) { box.items.append(node) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBox()
        put(.object(nested))
        return KeyedEncodingContainer(KeyedNodeContainer<NestedKey>(box: nested))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        put(.array(nested))
        return UnkeyedNodeContainer(box: nested)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = NodeEncoder()
        put(.pending(encoder))
        return encoder
    }
}

private struct SingleNodeContainer: SingleValueEncodingContainer, NodeSink {
    let encoder: NodeEncoder
    var codingPath: [any CodingKey] { [] }

    func put(_ node: Node) { encoder.node = node }
}

extension SortedJSONEncoder {
    /// `value` as a `JSONValue` tree, as reading its JSON text back would give it, without
    /// writing and parsing the text (saga data takes every reply's answer this way).
    static func jsonValue<T: Encodable>(_ value: T) throws -> JSONValue {
        try Node.of(value).jsonValue()
    }
}

extension Node {
    func jsonValue() throws -> JSONValue {
        switch self {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .int(let value): return .number(Decimal(value))
        case .uint(let value): return .number(Decimal(value))
        case .number(let text):
            guard let decimal = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else {
                throw EncodingError.invalidValue(text, .init(codingPath: [], debugDescription: "\(text) is not a number JSONValue can hold"))
            }
            return .number(decimal)
        case .string(let value): return .string(value)
        case .array(let box): return .array(try box.items.map { try $0.jsonValue() })
        case .object(let box):
            var object: [String: JSONValue] = [:]
            object.reserveCapacity(box.members.count)
            for (key, value) in box.members { object[key] = try value.jsonValue() }
            return .object(object)
        case .pending(let encoder): return try (encoder.node ?? .object(ObjectBox())).jsonValue()
        }
    }
}
