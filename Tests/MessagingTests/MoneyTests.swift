import Contracts
import Foundation
import Messaging
import Testing

@Suite("Money")
struct MoneyTests {
    @Test("decimal strings parse to exact cents", arguments: [("12.50", 1250), ("12.5", 1250), ("12", 1200), ("0.01", 1), ("-3.20", -320), ("100.00", 10000), ("0", 0), ("0.50", 50)])
    func parses(text: String, cents: Int64) {
        #expect(Money(text)?.minorUnits == cents)
    }

    @Test("anything but a plain decimal with at most two places is refused", arguments: ["", "12.345", "1e3", "12.", ".5", "twelve", "+1", "1,50", "--1", "12.5.0", "012", "00.50", "-01"])
    func refuses(text: String) {
        #expect(Money(text) == nil)
    }

    @Test("it prints with two decimals and sums exactly")
    func arithmetic() throws {
        let lines = [OrderLine(sku: "A", quantity: 3, unitPrice: Money("0.10")!), OrderLine(sku: "B", quantity: 1, unitPrice: Money("0.20")!)]
        #expect(lines.total.description == "0.50")
        #expect(Money(minorUnits: -5).description == "-0.05")
        #expect(String(decoding: try MessageCoding.encode([Money(100)]), as: UTF8.self) == #"["100.00"]"#)
    }
}
