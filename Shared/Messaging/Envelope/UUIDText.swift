import Foundation

extension UUID {
    /// The canonical lowercase text, e.g. `019af232-b27b-7c3e-9a41-5d2f0e6b8c17`: the form
    /// every header, row and log line uses.
    ///
    /// Foundation's `uuidString` formats with `sprintf` and `lowercased()` copies it again;
    /// a message id is written and read several times per message (the header, the inbox,
    /// the log metadata), and those two showed in the stack's profile (`vfprintf`).
    public var lowercasedText: String {
        let bytes = uuid
        return String(unsafeUninitializedCapacity: 36) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var position = 0
            withUnsafeBytes(of: bytes) { raw in
                for (index, byte) in raw.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    digits.withUTF8Buffer { hex in
                        buffer[position] = hex[Int(byte >> 4)]
                        buffer[position + 1] = hex[Int(byte & 0x0F)]
                    }
                    position += 2
                }
            }
            return position
        }
    }

    /// Parses the canonical text (`8-4-4-4-12` hex digits, either case); `nil` for anything
    /// else. The same forms `UUID(uuidString:)` takes, without `sscanf`.
    public init?(text: some StringProtocol) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        var high: UInt8?
        var count = 0
        for unit in text.utf8 {
            defer { count += 1 }
            if count == 8 || count == 13 || count == 18 || count == 23 {
                guard unit == UInt8(ascii: "-") else { return nil }
                continue
            }
            let nibble: UInt8
            switch unit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = unit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = unit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = unit - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let first = high {
                bytes.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard count == 36, bytes.count == 16 else { return nil }
        self.init(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        ))
    }
}
