import Foundation

extension UUID {
    /// A random (version 4) UUID from the system's random number generator.
    ///
    /// Foundation's `UUID()` on Linux opens `/dev/urandom`, reads 16 bytes and closes it on
    /// every call: three system calls and a file descriptor per message id. Under the
    /// checkout benchmark that was about 1,400 opens per second, and `open` alone 1.5 % of
    /// the stack's CPU (Docs/performance.md). `SystemRandomNumberGenerator` is the same
    /// kind of source (the kernel's CSPRNG, through `getrandom`) without the file; Foundation's
    /// `UUID.random(using:)` makes the version 4 UUID from it.
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    /// A time-ordered (version 7, RFC 9562) UUID: 48 bits of Unix milliseconds, then 74
    /// random bits.
    ///
    /// Ids made later sort after ids made earlier (to the millisecond), as bytes and as
    /// their lowercase text. Message ids are the inbox's primary key: a random id lands on
    /// a random leaf of that index, so a commit of N messages dirtied about N index pages
    /// (each one a WAL frame written); time-ordered ids land on the index's last page.
    public static func timeOrdered(at date: Date = Date()) -> UUID {
        var generator = SystemRandomNumberGenerator()
        return timeOrdered(milliseconds: UInt64(max(0, date.timeIntervalSince1970 * 1000)), using: &generator)
    }

    /// A version 7 UUID for `milliseconds` since 1970 with its random bits from `generator`.
    public static func timeOrdered(milliseconds: UInt64, using generator: inout some RandomNumberGenerator) -> UUID {
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        let millis = milliseconds & 0xFFFF_FFFF_FFFF
        return UUID(uuid: (
            UInt8(truncatingIfNeeded: millis >> 40), UInt8(truncatingIfNeeded: millis >> 32),
            UInt8(truncatingIfNeeded: millis >> 24), UInt8(truncatingIfNeeded: millis >> 16),
            UInt8(truncatingIfNeeded: millis >> 8), UInt8(truncatingIfNeeded: millis),
            0x70 | UInt8(truncatingIfNeeded: high) & 0x0F, UInt8(truncatingIfNeeded: high >> 8),
            0x80 | UInt8(truncatingIfNeeded: low) & 0x3F, UInt8(truncatingIfNeeded: low >> 8),
            UInt8(truncatingIfNeeded: low >> 16), UInt8(truncatingIfNeeded: low >> 24),
            UInt8(truncatingIfNeeded: low >> 32), UInt8(truncatingIfNeeded: low >> 40),
            UInt8(truncatingIfNeeded: low >> 48), UInt8(truncatingIfNeeded: low >> 56)
        ))
    }
}
