import Messaging
import Foundation

/// A condition on saga data, written as structured JSON — not an expression language:
/// `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`, `{"equals": {"path": "customer.tier", "value": "premium"}}`,
/// `{"greaterThan": {"path": "order.total", "value": "100.00"}}`, `{"lessThan": ...}`, `{"exists": "payment.authorizationId"}`.
public indirect enum Predicate: Sendable, Hashable, Codable {
    case all([Predicate])
    case any([Predicate])
    case not(Predicate)
    case equals(path: String, value: JSONValue)
    case greaterThan(path: String, value: JSONValue)
    case lessThan(path: String, value: JSONValue)
    case exists(path: String)

    struct Comparison: Codable, Hashable {
        var path: String
        var value: JSONValue
    }

    enum CodingKeys: String, CodingKey { case all, any, not, equals, greaterThan, lessThan, exists }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard container.allKeys.count == 1, let key = container.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a predicate has exactly one of all, any, not, equals, greaterThan, lessThan, exists"))
        }
        switch key {
        case .all: self = .all(try container.decode([Predicate].self, forKey: .all))
        case .any: self = .any(try container.decode([Predicate].self, forKey: .any))
        case .not: self = .not(try container.decode(Predicate.self, forKey: .not))
        case .equals:
            let comparison = try container.decode(Comparison.self, forKey: .equals)
            self = .equals(path: comparison.path, value: comparison.value)
        case .greaterThan:
            let comparison = try container.decode(Comparison.self, forKey: .greaterThan)
            self = .greaterThan(path: comparison.path, value: comparison.value)
        case .lessThan:
            let comparison = try container.decode(Comparison.self, forKey: .lessThan)
            self = .lessThan(path: comparison.path, value: comparison.value)
        case .exists: self = .exists(path: try container.decode(String.self, forKey: .exists))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .all(let predicates): try container.encode(predicates, forKey: .all)
        case .any(let predicates): try container.encode(predicates, forKey: .any)
        case .not(let predicate): try container.encode(predicate, forKey: .not)
        case .equals(let path, let value): try container.encode(Comparison(path: path, value: value), forKey: .equals)
        case .greaterThan(let path, let value): try container.encode(Comparison(path: path, value: value), forKey: .greaterThan)
        case .lessThan(let path, let value): try container.encode(Comparison(path: path, value: value), forKey: .lessThan)
        case .exists(let path): try container.encode(path, forKey: .exists)
        }
    }

    /// Evaluates the predicate on `data`. Comparisons of decimals (numbers or decimal
    /// strings such as `"100.00"`) are exact; a missing path makes a comparison false.
    public func evaluate(_ data: JSONValue) -> Bool {
        switch self {
        case .all(let predicates): return predicates.allSatisfy { $0.evaluate(data) }
        case .any(let predicates): return predicates.contains { $0.evaluate(data) }
        case .not(let predicate): return !predicate.evaluate(data)
        case .exists(let path): return data[path: path].map { $0 != .null } ?? false
        case .equals(let path, let value):
            guard let actual = data[path: path] else { return false }
            if let a = actual.decimal, let b = value.decimal { return a == b }
            return actual == value
        case .greaterThan(let path, let value):
            guard let a = data[path: path]?.decimal, let b = value.decimal else { return false }
            return a > b
        case .lessThan(let path, let value):
            guard let a = data[path: path]?.decimal, let b = value.decimal else { return false }
            return a < b
        }
    }

    /// Every data path the predicate reads.
    public var paths: [String] {
        switch self {
        case .all(let predicates), .any(let predicates): predicates.flatMap(\.paths)
        case .not(let predicate): predicate.paths
        case .equals(let path, _), .greaterThan(let path, _), .lessThan(let path, _), .exists(let path): [path]
        }
    }

    /// The values the predicate compares with.
    public var values: [JSONValue] {
        switch self {
        case .all(let predicates), .any(let predicates): predicates.flatMap(\.values)
        case .not(let predicate): predicate.values
        case .equals(_, let value), .greaterThan(_, let value), .lessThan(_, let value): [value]
        case .exists: []
        }
    }

    /// True for predicates that can never hold (`{"any": []}` and negations of always-true ones).
    public var isNeverTrue: Bool {
        switch self {
        case .any(let predicates): predicates.isEmpty || predicates.allSatisfy(\.isNeverTrue)
        case .all(let predicates): predicates.contains(where: \.isNeverTrue)
        case .not(let predicate): predicate.isAlwaysTrue
        default: false
        }
    }

    var isAlwaysTrue: Bool {
        switch self {
        case .all(let predicates): predicates.allSatisfy(\.isAlwaysTrue)
        case .any(let predicates): predicates.contains(where: \.isAlwaysTrue)
        case .not(let predicate): predicate.isNeverTrue
        default: false
        }
    }
}
