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
        // The 32 digits into two 64-bit halves: no buffer to allocate.
        var halves: (UInt64, UInt64) = (0, 0)
        var count = 0
        for unit in text.utf8 {
            defer { count += 1 }
            if count == 8 || count == 13 || count == 18 || count == 23 {
                guard unit == UInt8(ascii: "-") else { return nil }
                continue
            }
            let nibble: UInt64
            switch unit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt64(unit - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt64(unit - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = UInt64(unit - UInt8(ascii: "A") + 10)
            default: return nil
            }
            if count < 18 { halves.0 = halves.0 << 4 | nibble } else { halves.1 = halves.1 << 4 | nibble }
        }
        guard count == 36 else { return nil }
        let (high, low) = halves
        func byte(_ half: UInt64, _ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: half >> (56 - 8 * index)) }
        self.init(uuid: (
            byte(high, 0), byte(high, 1), byte(high, 2), byte(high, 3), byte(high, 4), byte(high, 5), byte(high, 6), byte(high, 7),
            byte(low, 0), byte(low, 1), byte(low, 2), byte(low, 3), byte(low, 4), byte(low, 5), byte(low, 6), byte(low, 7)
        ))
    }
}
