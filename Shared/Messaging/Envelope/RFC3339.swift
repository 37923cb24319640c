import Foundation

/// RFC 3339 timestamps in UTC with milliseconds (`2026-11-25T12:00:00.123Z`), written and
/// read by hand.
///
/// Every message carries one in its `occurred-at` header, most bodies and stored documents
/// carry several, and each is written once and read by every consumer. Foundation's
/// `ISO8601FormatStyle` takes about 3 µs per call here (it goes through a calendar); this
/// takes a few hundred nanoseconds (`ensemble bench engine` prints both). Text in another
/// RFC 3339 shape (an offset instead of `Z`, more or fewer fraction digits) is handed to
/// Foundation's parser.
public enum RFC3339 {
    /// `date` to the nearest millisecond, in UTC (so that a parsed timestamp, whose
    /// fraction is the nearest binary number, is written back as it was read).
    public static func format(_ date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        guard milliseconds.isFinite, abs(milliseconds) < 253_402_300_800_000 else {
            return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        }
        var total = Int64(milliseconds)
        let millisecond = Int(floorMod(total, 1000))
        total = floorDiv(total, 1000)
        let secondOfDay = Int(floorMod(total, 86_400))
        let (year, month, day) = civil(fromDays: floorDiv(total, 86_400))
        guard (0...9999).contains(year) else {
            return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        }
        return String(unsafeUninitializedCapacity: 24) { buffer in
            func put(_ value: Int, _ digits: Int, at offset: Int) {
                var value = value
                for index in stride(from: offset + digits - 1, through: offset, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            put(year, 4, at: 0)
            buffer[4] = UInt8(ascii: "-")
            put(month, 2, at: 5)
            buffer[7] = UInt8(ascii: "-")
            put(day, 2, at: 8)
            buffer[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, 2, at: 11)
            buffer[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, 2, at: 14)
            buffer[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, 2, at: 17)
            buffer[19] = UInt8(ascii: ".")
            put(millisecond, 3, at: 20)
            buffer[23] = UInt8(ascii: "Z")
            return 24
        }
    }

    /// Reads a timestamp; nil when the text is not RFC 3339 (or names a day or time that
    /// does not exist, such as February 30th).
    public static func parse(_ text: String) -> Date? {
        var text = text
        switch text.withUTF8({ fastParse($0) }) {
        case .date(let date): return date
        case .invalid: return nil
        case .otherShape:
            if let date = try? fractional.parse(text) { return date }
            return try? Date.ISO8601FormatStyle().parse(text)
        }
    }

    private enum Reading {
        case date(Date)
        /// The shape `format` writes, with a field out of range.
        case invalid
        /// Not that shape; maybe another RFC 3339 form.
        case otherShape
    }

    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// `yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z`, the shape `format` writes and most senders use.
    private static func fastParse(_ bytes: UnsafeBufferPointer<UInt8>) -> Reading {
        guard bytes.count >= 20, bytes[bytes.count - 1] == UInt8(ascii: "Z") else { return .otherShape }
        func number(_ offset: Int, _ digits: Int) -> Int? {
            var value = 0
            for index in offset..<(offset + digits) {
                let digit = Int(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
        else { return .otherShape }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60, second < 60 else {
            return .invalid
        }
        var fraction = 0.0
        let end = bytes.count - 1
        if end > 19 {
            guard bytes[19] == UInt8(ascii: "."), (1...9).contains(end - 20), let digits = number(20, end - 20) else { return .invalid }
            fraction = Double(digits) / pow(10, Double(end - 20))
        }
        let days = days(fromCivil: year, month, day)
        let seconds = Double(days * 86_400 + Int64(hour * 3600 + minute * 60 + second))
        return .date(Date(timeIntervalSince1970: seconds + fraction))
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days-from-civil and civil-from-days (proleptic Gregorian calendar).

    private static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDiv(y, 400)
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    private static func floorMod(_ a: Int64, _ b: Int64) -> Int64 {
        a - floorDiv(a, b) * b
    }
}
