import Foundation

/// JSON text for the few small, fixed shapes written on every message — a list of string
/// pairs (an outbox row's headers) — without going through `JSONEncoder`, whose generic
/// machinery costs tens of microseconds for a handful of strings (`ensemble bench store`).
/// What it writes `JSONDecoder` reads back; `decodePairs` reads what either wrote.
public enum JSONText {
    /// `[["name","value"],...]`.
    public static func encodePairs(_ pairs: [[String]]) -> String {
        var writer = JSONWriter(capacity: 64 * pairs.count + 2)
        writer.beginArray()
        for pair in pairs { writer.strings(pair) }
        writer.endArray()
        return writer.text
    }

    /// Reads a list of string lists; nil when the text is not one.
    public static func decodePairs(_ text: String) -> [[String]]? {
        var text = text
        if let pairs = text.withUTF8({ bytes in
            var reader = Reader(bytes: bytes)
            return reader.listOfStringLists()
        }) {
            return pairs
        }
        // Anything unusual (a number where a string belongs, say) is for Foundation to judge.
        return try? JSONDecoder().decode([[String]].self, from: Data(text.utf8))
    }

    /// A reader of `[[string, ...], ...]` over UTF-8 bytes; nil on anything else.
    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        mutating func listOfStringLists() -> [[String]]? {
            guard take(UInt8(ascii: "[")) else { return nil }
            var lists: [[String]] = []
            if take(UInt8(ascii: "]")) { return end() ? lists : nil }
            repeat {
                guard take(UInt8(ascii: "[")) else { return nil }
                var list: [String] = []
                if !take(UInt8(ascii: "]")) {
                    repeat {
                        guard let string = string() else { return nil }
                        list.append(string)
                    } while take(UInt8(ascii: ","))
                    guard take(UInt8(ascii: "]")) else { return nil }
                }
                lists.append(list)
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "]")) else { return nil }
            return end() ? lists : nil
        }

        private mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        private mutating func end() -> Bool {
            skipSpace()
            return position == bytes.count
        }

        private mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = position
            // The common case: no escapes.
            while position < bytes.count, bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\") {
                guard bytes[position] >= 0x20 else { return nil }
                position += 1
            }
            guard position < bytes.count else { return nil }
            var result = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            while bytes[position] == UInt8(ascii: "\\") {
                position += 1
                guard position < bytes.count else { return nil }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""): result += "\""
                case UInt8(ascii: "\\"): result += "\\"
                case UInt8(ascii: "/"): result += "/"
                case UInt8(ascii: "b"): result += "\u{8}"
                case UInt8(ascii: "f"): result += "\u{C}"
                case UInt8(ascii: "n"): result += "\n"
                case UInt8(ascii: "r"): result += "\r"
                case UInt8(ascii: "t"): result += "\t"
                case UInt8(ascii: "u"):
                    guard var unit = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(unit) {
                        // A surrogate pair: the low half must follow.
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else { return nil }
                        position += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(unit) else { return nil }
                    result.unicodeScalars.append(scalar)
                default:
                    return nil
                }
                let runStart = position
                while position < bytes.count, bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\") {
                    guard bytes[position] >= 0x20 else { return nil }
                    position += 1
                }
                guard position < bytes.count else { return nil }
                result += String(decoding: UnsafeBufferPointer(rebasing: bytes[runStart..<position]), as: UTF8.self)
            }
            position += 1 // the closing quote
            return result
        }

        private mutating func hex4() -> UInt32? {
            guard position + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: return nil
                }
                value = value * 16 + digit
                position += 1
            }
            return value
        }
    }
}
