import Contracts
import Foundation
import Messaging
import Testing

/// `SortedJSONEncoder` against Foundation's `JSONEncoder` with the settings MessageCoding
/// used before it: the same bytes, value for value.
@Suite("Sorted JSON encoder")
struct SortedJSONEncoderTests {
    private static func foundation<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(MessageCoding.timestamp(date))
        }
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private static func sorted<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try SortedJSONEncoder.encode(value), as: UTF8.self)
    }

    private func expectSame<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try Self.sorted(value) == Self.foundation(value), sourceLocation: sourceLocation)
    }

    struct Inner: Codable, Equatable {
        var name: String
        var tags: [String]
        var when: Date?
    }

    enum Kind: String, Codable { case alpha, beta }

    /// Every kind of member, in declaration order far from sorted order.
    struct Everything: Encodable {
        var zulu = "last"
        var shipTo = Inner(name: "a/b \"quoted\" \\ back", tags: ["x", "é", "😀"], when: Date(timeIntervalSince1970: 1_765_000_000.125))
        var shipping = 2
        var B = true
        var _under: Int? = nil
        var a10 = Int64.min
        var a9 = UInt64.max
        var doubles: [Double] = [1.5, 0.1, 1e20, 1e-7, 100, -0.0, 3.14159265358979, 2.5e-300]
        var floats: [Float] = [0.1, 1.5, 100]
        var decimal = Decimal(string: "12.30")!
        var money = Money(minorUnits: 12_345)
        var data = Data([0, 1, 2, 254, 255])
        var url = URL(string: "http://example.com/a?b=c")!
        var kind = Kind.beta
        var map: [String: Int] = ["b": 2, "a": 1, "B": 3, "a10": 4, "a9": 5]
        var numbered: [Int: String] = [10: "ten", 9: "nine"]
        var nested: [[Inner?]] = [[nil, Inner(name: "", tags: [], when: nil)], []]
        var empty: [String: Int] = [:]
        var small: Int8 = -8
        var flags: [Bool] = [true, false]
    }

    @Test("a value with every kind of member: the same bytes")
    func everything() throws {
        try expectSame(Everything())
        try expectSame([Everything(), Everything()])
    }

    @Test("strings: every control character, quotes, backslashes, slashes and non-ASCII text as JSONEncoder writes them")
    func strings() throws {
        let controls = String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) })
        for text in [controls, "\u{7F}\u{2028}\u{2029}", "a/b", "\"\\", "", "naïve — 東京 😀"] {
            try expectSame(text)
            try expectSame(["k": text])
        }
    }

    @Test("top-level fragments and optionals")
    func fragments() throws {
        try expectSame(42)
        try expectSame(Optional<Int>.none)
        try expectSame(true)
        try expectSame(Date(timeIntervalSince1970: 0))
        try expectSame([String]())
    }

    /// Containers an encoder is asked for by hand: nested ones, a key written twice, a super encoder.
    struct HandWritten: Encodable {
        enum Keys: String, CodingKey { case outer, list, twice, parent, `super` }
        enum Inner: String, CodingKey { case y, x }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var outer = container.nestedContainer(keyedBy: Inner.self, forKey: .outer)
            try outer.encode(2, forKey: .y)
            try outer.encode("one", forKey: .x)
            var list = container.nestedUnkeyedContainer(forKey: .list)
            try list.encode(1)
            var inList = list.nestedContainer(keyedBy: Inner.self)
            try inList.encodeNil(forKey: .x)
            try list.encode("end")
            try container.encode("first", forKey: .twice)
            try container.encode("second", forKey: .twice)
            try Money(minorUnits: 5).encode(to: container.superEncoder(forKey: .parent))
            try "base".encode(to: container.superEncoder())
        }
    }

    @Test("nested containers, a key written twice (the last value wins) and super encoders")
    func handWritten() throws {
        try expectSame(HandWritten())
        #expect(try Self.sorted(HandWritten()).contains(#""twice":"second""#))
    }

    @Test("a contract message: the same bytes, and it reads back")
    func contract() throws {
        let event = PaymentAuthorized(orderID: "o1", authorizationID: "A-1", amount: 150, processor: .primary)
        try expectSame(event)
        #expect(try MessageCoding.decode(PaymentAuthorized.self, from: SortedJSONEncoder.encode(event)) == event)
    }

    @Test("a number JSON cannot hold is refused", arguments: [Double.nan, .infinity, -.infinity])
    func nonFinite(_ value: Double) {
        #expect(throws: EncodingError.self) { try SortedJSONEncoder.encode(["x": value]) }
    }

    /// What saga data holds: money, text, counts, lists of records, dates, flags, nested objects.
    struct Facts: Encodable {
        var total = Money(minorUnits: 12_550)
        var lines = [Inner(name: "SKU-1", tags: ["a", "b"], when: nil), Inner(name: "SKU-2", tags: [], when: Date(timeIntervalSince1970: 1_765_000_000.5))]
        var count = 3
        var big = UInt64.max
        var negative = Int64.min
        var ratios: [Double] = [1.5, 0.1, 100, -0.0, 1e20, 3.14159265358979]
        var decimal = Decimal(string: "-0.000123")!
        var premium = true
        var nothing: String? = nil
        var explicitNull: Int?? = .some(nil)
        var kind = Kind.alpha
        var map: [String: [Int]] = ["z": [1], "a": []]
        var note = "line\nbreak \"quoted\" ünïcode"
    }

    @Test("JSONValue(encoding:) gives what the value's JSON text reads back as")
    func jsonValue() throws {
        func throughText<T: Encodable>(_ value: T) throws -> JSONValue {
            try MessageCoding.decode(JSONValue.self, from: Self.foundation(value).data(using: .utf8)!)
        }
        try #expect(JSONValue(encoding: Facts()) == throughText(Facts()))
        try #expect(JSONValue(encoding: HandWritten()) == throughText(HandWritten()))
        try #expect(JSONValue(encoding: [Facts(), Facts()]) == throughText([Facts(), Facts()]))
        try #expect(JSONValue(encoding: "text") == .string("text"))
        try #expect(JSONValue(encoding: Money(minorUnits: 5)) == throughText(Money(minorUnits: 5)))
    }

    struct Record: Codable, Equatable {
        var total: Money
        var lines: [Inner]
        var count: Int
        var big: UInt64
        var small: Int8
        var ratios: [Double]
        var ratio: Float
        var decimal: Decimal
        var premium: Bool
        var nothing: String?
        var kind: Kind
        var map: [String: [Int]]
        var at: Date
        var raw: JSONValue
    }

    @Test("JSONValue.decode gives what decoding the value's JSON text gives, and refuses what it refuses")
    func decodeFromValue() throws {
        let record = Record(
            total: Money(minorUnits: 12_550), lines: [Inner(name: "SKU-1", tags: ["a"], when: Date(timeIntervalSince1970: 1_765_000_000.5))],
            count: -3, big: .max, small: -8, ratios: [1.5, 0.1, 100, 3.14159265358979, 1e20], ratio: 0.1, decimal: Decimal(string: "-0.000123")!,
            premium: true, nothing: nil, kind: .beta, map: ["z": [1, 2], "a": []], at: Date(timeIntervalSince1970: 1_765_000_000.125),
            raw: .object(["n": .number(5), "s": .string("x"), "l": .array([.null, .bool(false)])])
        )
        let value = try JSONValue(encoding: record)
        func throughText<T: Decodable>(_ type: T.Type, _ value: JSONValue) throws -> T {
            try MessageCoding.decode(T.self, from: MessageCoding.encode(value))
        }
        let direct = try value.decode(Record.self)
        #expect(direct == record)
        #expect(try direct == throughText(Record.self, value))
        try #expect(value[path: "lines"]?.decode([Inner].self) == throughText([Inner].self, value[path: "lines"]!))
        try #expect(value[path: "total"]?.decode(Money.self) == Money(minorUnits: 12_550))
        #expect(try JSONValue.number(7).decode(Int?.self) == 7)
        #expect(try JSONValue.null.decode(Int?.self) == nil)

        // What the text round trip refuses, so does the direct one.
        let refused: [(JSONValue, any Decodable.Type)] = [
            (.number(Decimal(string: "12.5")!), Int.self), (.number(300), UInt8.self), (.number(-1), UInt.self), (.string("12"), Int.self),
            (.number(1), Bool.self), (.object([:]), Record.self), (.string("yesterday"), Date.self), (.string("12.345"), Money.self),
            (.array([.number(1)]), [String].self), (.object(["count": .number(1)]), [String: String].self),
        ]
        for (value, type) in refused {
            #expect(throws: (any Error).self, "\(value) as \(type) through text") { try Self.open(type, value, throughText: true) }
            #expect(throws: (any Error).self, "\(value) as \(type) directly") { try Self.open(type, value, throughText: false) }
        }
    }

    private static func open<T: Decodable>(_ type: T.Type, _ value: JSONValue, throughText: Bool) throws {
        if throughText {
            _ = try MessageCoding.decode(T.self, from: MessageCoding.encode(value))
        } else {
            _ = try value.decode(T.self)
        }
    }
}
