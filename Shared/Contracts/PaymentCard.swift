/// The card an order pays with, as it travels to the payment service: sealed for the
/// payment vault (`sealed:v1:…`, which only the vault can open), or — from a sender that
/// does not seal, such as an order placed before sealing existed — the number itself.
/// On the wire it is one string either way.
public enum PaymentCard: Sendable, Hashable, Codable, CustomStringConvertible {
    case sealed(String)
    case number(String)

    /// The prefix of a sealed card.
    public static let sealedPrefix = "sealed:v1:"

    public init(_ text: String) {
        self = text.hasPrefix(Self.sealedPrefix) ? .sealed(text) : .number(text)
    }

    public var text: String {
        switch self {
        case .sealed(let text), .number(let text): text
        }
    }

    public var isSealed: Bool {
        if case .sealed = self { return true }
        return false
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    /// Never the number: a sealed card, or the last four digits of a plain one.
    public var description: String {
        switch self {
        case .sealed: "sealed card"
        case .number(let number): "card …\(number.suffix(4))"
        }
    }
}
