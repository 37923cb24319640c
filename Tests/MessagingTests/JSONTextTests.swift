import Foundation
import Messaging
import Testing

@Suite("JSON text for header pairs")
struct JSONTextTests {
    static let awkward = ["", "plain", "quote \" and backslash \\", "slash / and newline\n tab\t cr\r", "control \u{1} \u{1F}", "ünïcødé ✓ 🚀", "\u{2028}"]

    @Test("what it writes, Foundation reads; what Foundation writes (escaped slashes included), it reads")
    func agreesWithFoundation() throws {
        var pairs: [[String]] = []
        for first in Self.awkward { for second in Self.awkward { pairs.append([first, second]) } }
        let written = JSONText.encodePairs(pairs)
        #expect(try JSONDecoder().decode([[String]].self, from: Data(written.utf8)) == pairs)
        #expect(JSONText.decodePairs(written) == pairs)
        for formatting: JSONEncoder.OutputFormatting in [[], [.withoutEscapingSlashes], [.prettyPrinted]] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = formatting
            let foundation = String(decoding: try encoder.encode(pairs), as: UTF8.self)
            #expect(JSONText.decodePairs(foundation) == pairs, "\(formatting)")
        }
        #expect(JSONText.decodePairs(#"[["a\u00e9\ud83d\ude80"]]"#) == [["aé🚀"]], "escaped code points and surrogate pairs")
    }

    @Test("empty lists, and what is not a list of string lists")
    func edges() {
        #expect(JSONText.encodePairs([]) == "[]")
        #expect(JSONText.decodePairs("[]") == [])
        #expect(JSONText.decodePairs("[[]]") == [[]])
        for bad in ["", "{}", "[1]", "[[1]]", #"[["a"]"#, #"[["a"]] x"#, #"[["\q"]]"#, "[[\"a\nb\"]]"] {
            #expect(JSONText.decodePairs(bad) == nil, "\(bad)")
        }
    }
}
