import Foundation
import Messaging
import Testing

@Suite("RFC 3339 timestamps")
struct RFC3339Tests {
    private let foundation = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    @Test("agrees with Foundation's reader and writer over four centuries of random instants; written back unchanged")
    func agreesWithFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let milliseconds = Int64.random(in: -2_208_988_800_000...7_258_118_400_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            // Written to the nearest millisecond (Foundation truncates, so an instant held
            // as x.1229999 comes out .122 here and .121 there).
            let written = RFC3339.format(date)
            let byFoundation = try foundation.parse(written)
            #expect(abs(byFoundation.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.0005, "\(written)")
            // Foundation's text reads as Foundation reads it.
            let text = date.formatted(foundation)
            let parsed = try #require(RFC3339.parse(text))
            #expect(abs(parsed.timeIntervalSince1970 - (try foundation.parse(text)).timeIntervalSince1970) < 0.000_001, "\(text)")
            #expect(RFC3339.format(try #require(RFC3339.parse(written))) == written, "read and written back unchanged")
        }
    }

    @Test("calendar edges: leap days, the epoch, before it, the end of a year")
    func edges() throws {
        let cases = ["2024-02-29T23:59:59.999Z", "1970-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "2000-02-29T12:00:00.500Z", "1900-03-01T00:00:00.000Z", "2026-12-31T23:59:59.000Z"]
        for text in cases {
            #expect(RFC3339.parse(text).map(RFC3339.format) == text)
            let foundationReading = try #require(try? foundation.parse(text))
            #expect(abs((RFC3339.parse(text)?.timeIntervalSince1970 ?? 0) - foundationReading.timeIntervalSince1970) < 0.000_001, "\(text)")
        }
    }

    @Test("other RFC 3339 shapes are read too; what is not a timestamp is nil")
    func otherShapes() throws {
        let offset = try #require(RFC3339.parse("2026-11-25T13:00:00+01:00"))
        #expect(RFC3339.format(offset) == "2026-11-25T12:00:00.000Z")
        #expect(RFC3339.parse("2026-11-25T12:00:00Z").map(RFC3339.format) == "2026-11-25T12:00:00.000Z")
        #expect(RFC3339.parse("2026-11-25T12:00:00.123456Z").map(RFC3339.format) == "2026-11-25T12:00:00.123Z")
        for bad in ["", "yesterday", "2026-13-01T00:00:00.000Z", "2026-02-30T00:00:00.000Z", "2025-02-29T00:00:00.000Z", "2026-11-25T24:00:00.000Z", "2026-11-25 12:00:00.000Z", "2026-11-25T12:00:00.Z"] {
            #expect(RFC3339.parse(bad) == nil, "\(bad)")
        }
    }
}
