import Foundation

/// Writes JSON text member by member, for a document of a fixed shape written on every
/// message (the orchestrator's saga state) where `JSONEncoder`'s generic machinery is the
/// largest cost (`ensemble bench engine`). It writes what `MessageCoding.encode` writes for
/// the same value when the caller gives the keys in sorted order: timestamps as RFC 3339
/// strings, decimals as their plain text, optional members left out when nil.
///
/// ```swift
/// var writer = JSONWriter()
/// writer.beginObject()
/// writer.key("id"); writer.string(id)
/// writer.key("stage"); writer.number(stage)
/// writer.endObject()
/// ```
public struct JSONWriter: Sendable {
    /// UTF-8 bytes: appending to an array of bytes measured about five times faster than
    /// appending to a `String`.
    private var bytes: [UInt8] = []
    /// The next member or element is the first of its container (no comma before it).
    private var first = true

    public init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public var data: Data { Data(bytes) }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        first = true
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        first = false
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        first = true
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        first = false
    }

    /// A member's name; the next value written is its value.
    public mutating func key(_ name: String) {
        separate()
        quote(name)
        bytes.append(UInt8(ascii: ":"))
        first = true
    }

    public mutating func string(_ value: String) {
        separate()
        quote(value)
    }

    public mutating func number(_ value: Int) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func number(_ value: Int64) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func number(_ value: UInt64) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A number already written as JSON text (a double's shortest form, a decimal).
    mutating func number(text: String) {
        separate()
        bytes.append(contentsOf: text.utf8)
    }

    public mutating func number(_ value: Decimal) {
        separate()
        bytes.append(contentsOf: value.description.utf8)
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
    }

    public mutating func date(_ value: Date) {
        string(RFC3339.format(value))
    }

    public mutating func uuid(_ value: UUID) {
        string(value.uuidString)
    }

    /// `[ "a", "b" ]`.
    public mutating func strings(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    // Members that are left out when nil, as `encodeIfPresent` leaves them out.

    public mutating func member(_ name: String, _ value: String?) { member(name, value) { $0.string($1) } }
    public mutating func member(_ name: String, _ value: Int?) { member(name, value) { $0.number($1) } }
    public mutating func member(_ name: String, _ value: Bool?) { member(name, value) { $0.bool($1) } }
    public mutating func member(_ name: String, _ value: Date?) { member(name, value) { $0.date($1) } }
    public mutating func member(_ name: String, _ value: UUID?) { member(name, value) { $0.uuid($1) } }
    public mutating func member(_ name: String, _ value: [String]?) { member(name, value) { $0.strings($1) } }

    private mutating func member<Value>(_ name: String, _ value: Value?, _ write: (inout Self, Value) -> Void) {
        guard let value else { return }
        key(name)
        write(&self, value)
    }

    private mutating func separate() {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
    }

    /// A string literal: RFC 8259 escapes for the quote, the backslash and control
    /// characters (`\b \f \n \r \t` by name, others as `\u00XX`), every other byte as it is.
    private mutating func quote(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        // Nearly every string needs no escape: one pass over its contiguous UTF-8 decides,
        // and it is copied whole (a native string always has contiguous storage).
        let copied = string.utf8.withContiguousStorageIfAvailable { buffer -> Bool in
            for byte in buffer where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            bytes.append(contentsOf: buffer)
            return true
        }
        if copied != true {
            for byte in string.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
                case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
                case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
                case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
                case 0x08: bytes.append(contentsOf: #"\b"#.utf8)
                case 0x0C: bytes.append(contentsOf: #"\f"#.utf8)
                case ..<0x20:
                    bytes.append(contentsOf: #"\u00"#.utf8)
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0xF)])
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

extension JSONValue {
    /// Writes the value, object members in key order.
    public func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .bool(let value): writer.bool(value)
        case .number(let value): writer.number(value)
        case .string(let value): writer.string(value)
        case .array(let values):
            writer.beginArray()
            for value in values { value.write(to: &writer) }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            for (key, value) in members.sorted(by: { $0.key < $1.key }) {
                writer.key(key)
                value.write(to: &writer)
            }
            writer.endObject()
        }
    }
}
