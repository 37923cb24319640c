import Foundation

/// JSON and timestamp conventions shared by every message body and header.
public enum MessageCoding {
    /// RFC 3339 with milliseconds, in UTC, e.g. `2026-11-25T12:00:00.123Z`.
    public static func timestamp(_ date: Date) -> String {
        RFC3339.format(date)
    }

    public static func parseTimestamp(_ text: String) -> Date? {
        RFC3339.parse(text)
    }

    /// Compact JSON, keys sorted, timestamps as RFC 3339 (`SortedJSONEncoder`: the bytes
    /// `JSONEncoder` writes with these settings, faster).
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        try SortedJSONEncoder.encode(value)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decoder.decode(type, from: data)
    }

    /// One decoder for every body: its settings never change, and `JSONDecoder` may be
    /// used from several threads at once.
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parseTimestamp(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not an RFC 3339 timestamp")
            }
            return date
        }
        return decoder
    }()

    /// A one-line explanation of a decoding failure that names the offending field.
    public static func explain(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "the body" : String(text.drop(while: { $0 == "." }))
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field '\(path(context.codingPath + [key]))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "field '\(path(context.codingPath))': \(context.debugDescription)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON: \(context.debugDescription)" : "field '\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
