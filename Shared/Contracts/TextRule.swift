/// The text rules that requests are checked against, the same ones the services' OpenAPI
/// documents state as patterns and lengths. They work on Unicode scalars, as JSON Schema
/// counts and matches, so that a value the document allows is a value the handler takes
/// and the other way round.
public enum TextRule {
    /// The characters that count as blank: space, tab, carriage return, line feed (the
    /// documents' pattern `[^ \t\r\n]`).
    static let blank: Set<Unicode.Scalar> = [" ", "\t", "\r", "\n"]

    /// Has at least one character that is not blank.
    public static func hasContent(_ text: String) -> Bool {
        text.unicodeScalars.contains { !blank.contains($0) }
    }

    /// The length as JSON Schema's `minLength`/`maxLength` count it.
    public static func length(_ text: String) -> Int {
        text.unicodeScalars.count
    }

    /// 1 to `maximum` characters, none of them blank or `/` (ids that go in a URL path:
    /// the documents' `^[^ \t\r\n/]{1,N}$`).
    public static func isIdentifier(_ text: String, maximum: Int = 64) -> Bool {
        (1...maximum).contains(length(text)) && !text.unicodeScalars.contains { blank.contains($0) || $0 == "/" }
    }

    /// Two ASCII letters (`^[A-Za-z]{2}$`).
    public static func isCountryCode(_ text: String) -> Bool {
        length(text) == 2 && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) }
    }

    /// ASCII digits only (`^[0-9]*$`).
    public static func isDigits(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { ("0"..."9").contains($0) }
    }
}

extension Address {
    /// The first problem with the address, its fields named under `field`, or nil: name,
    /// line1, city and postal code not blank, a two-letter country code.
    public func problem(field: String) -> String? {
        for (name, value) in [("name", name), ("line1", line1), ("city", city), ("postalCode", postalCode)] where !TextRule.hasContent(value) {
            return "\(field).\(name) must not be empty"
        }
        if !TextRule.isCountryCode(country) { return "\(field).country must be a two-letter country code" }
        return nil
    }
}
