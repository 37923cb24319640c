import Contracts
import Testing

@Suite("Text rules shared by handlers and OpenAPI documents")
struct TextRuleTests {
    @Test("not blank means a character other than space, tab, CR, LF", arguments: [("a", true), (" x ", true), ("\u{00A0}", true), ("", false), (" \t\r\n", false), ("\r\n", false)])
    func content(text: String, expected: Bool) {
        #expect(TextRule.hasContent(text) == expected)
    }

    @Test("lengths count Unicode scalars, as JSON Schema does")
    func length() {
        // "é" written as e + a combining accent: one Character, two scalars.
        #expect(TextRule.length("e\u{301}") == 2)
        #expect(TextRule.isIdentifier(String(repeating: "a", count: 64)))
        #expect(!TextRule.isIdentifier(String(repeating: "a", count: 65)))
        #expect(!TextRule.isIdentifier("a/b") && !TextRule.isIdentifier("a b") && !TextRule.isIdentifier(""))
    }

    @Test("country codes are two ASCII letters; digits are ASCII digits")
    func codes() {
        #expect(TextRule.isCountryCode("US") && TextRule.isCountryCode("de"))
        #expect(!TextRule.isCountryCode("U1") && !TextRule.isCountryCode("USA") && !TextRule.isCountryCode("ÄB"))
        #expect(TextRule.isDigits("0123") && !TextRule.isDigits("١٢") && !TextRule.isDigits("12a"))
    }

    @Test("an address names its first problem under the field it is in")
    func address() {
        let good = Address(name: "Bob", line1: "2 Oak Ave", city: "Springfield", postalCode: "12345", country: "US")
        #expect(good.problem(field: "shipTo") == nil)
        var blank = good
        blank.city = " \t"
        #expect(blank.problem(field: "shipTo") == "shipTo.city must not be empty")
        var country = good
        country.country = "U5"
        #expect(country.problem(field: "billingAddress") == "billingAddress.country must be a two-letter country code")
    }
}
