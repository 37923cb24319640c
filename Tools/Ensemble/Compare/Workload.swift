import ArgumentParser
import Contracts
import OrchestratorCore

/// The kinds of order the comparison places, each with the outcome the rules imply.
enum OrderKind: String, Codable, CaseIterable, Sendable {
    case happy
    case decline
    case outOfStock = "out-of-stock"
    case blocked

    /// The terminal statuses this kind may end in (in either mode).
    var expected: Set<String> {
        switch self {
        case .happy: ["completed"]
        case .decline, .outOfStock: ["compensated", "failed"]
        case .blocked: ["failed"]
        }
    }
}

/// `--mix happy:80,decline:10,out-of-stock:5,blocked:5`: the share of each kind.
struct Mix: Sendable, Codable, CustomStringConvertible, ExpressibleByArgument {
    var weights: [OrderKind: Int]

    init(weights: [OrderKind: Int]) {
        self.weights = weights
    }

    init?(argument: String) {
        var weights: [OrderKind: Int] = [:]
        for part in argument.split(separator: ",") {
            let pair = part.split(separator: ":")
            guard pair.count == 2, let kind = OrderKind(rawValue: String(pair[0]).trimmingCharacters(in: .whitespaces)),
                  let weight = Int(pair[1]), weight >= 0 else { return nil }
            weights[kind] = weight
        }
        guard weights.values.reduce(0, +) > 0 else { return nil }
        self.weights = weights
    }

    static let standard = Mix(weights: [.happy: 80, .decline: 10, .outOfStock: 5, .blocked: 5])

    var description: String {
        OrderKind.allCases.compactMap { kind in weights[kind].map { "\(kind.rawValue):\($0)" } }.joined(separator: ",")
    }

    /// `count` kinds in the mix's proportions, spread evenly (the same list every run).
    func kinds(_ count: Int) -> [OrderKind] {
        let total = weights.values.reduce(0, +)
        var credit = Dictionary(uniqueKeysWithValues: OrderKind.allCases.map { ($0, 0.0) })
        return (0..<count).map { _ in
            // Largest remainder: each step goes to the kind furthest behind its share.
            for kind in OrderKind.allCases { credit[kind]! += Double(weights[kind] ?? 0) / Double(total) }
            let kind = OrderKind.allCases.max { credit[$0]! < credit[$1]! }!
            credit[kind]! -= 1
            return kind
        }
    }
}

/// The orders of one run.
enum Workload {
    static let sku = "SKU-BENCH"
    static let shortSKU = "SKU-BENCH-SHORT"
    static let unitPrice = Money("9.99")!

    static func order(_ kind: OrderKind, index: Int, mode: CheckoutMode) -> OrderRequest {
        let customer: String
        var sku = Self.sku
        var card = "4111111111111111"
        switch kind {
        case .happy: customer = index % 2 == 0 ? "bob" : "alice"
        case .decline: customer = "alice"; card = "4000000000000002"
        case .outOfStock: customer = "bob"; sku = shortSKU
        case .blocked: customer = "mallory"
        }
        return OrderRequest(
            customerID: customer, items: [.init(sku: sku, quantity: 1, unitPrice: unitPrice)], payment: .init(card: card),
            shipTo: Address(name: "Bench", line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US"), mode: mode
        )
    }
}
