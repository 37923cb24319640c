import Foundation
import Messaging

/// Which source wins each merged field of a profile, as data: for each field, the sources
/// in order of precedence; the first that has a value wins. Loaded from a JSON file
/// (`AGGREGATOR_RULES`), validated at start, served at `GET /rules`.
///
/// ```json
/// {"fields": {"phone": ["profile", "payment"], "shippingAddress": ["profile", "orders"]}}
/// ```
public struct MergeRules: Sendable, Hashable, Codable {
    public var fields: [String: [String]]

    public init(fields: [String: [String]]) {
        self.fields = fields
    }

    /// The profile's own data first; billing data seen by payment, or the latest order's
    /// address, only where the profile has none.
    public static let standard = MergeRules(fields: [
        "name": ["profile", "payment"],
        "email": ["profile"],
        "phone": ["profile", "payment"],
        "shippingAddress": ["profile", "orders"],
    ])

    /// The fields that can be merged, and the sources that can provide each.
    public static let candidates: [String: Set<String>] = [
        "name": ["profile", "payment"],
        "email": ["profile"],
        "phone": ["profile", "payment"],
        "shippingAddress": ["profile", "orders"],
    ]

    /// The sources for `field`, in order.
    public func precedence(_ field: String) -> [String] {
        fields[field] ?? Self.standard.fields[field] ?? []
    }

    /// Every problem with these rules, each naming the field.
    public var problems: [String] {
        var problems: [String] = []
        for (field, sources) in fields.sorted(by: { $0.key < $1.key }) {
            guard let allowed = Self.candidates[field] else {
                problems.append("unknown field '\(field)' (known: \(Self.candidates.keys.sorted().joined(separator: ", ")))")
                continue
            }
            if sources.isEmpty { problems.append("field '\(field)' lists no source") }
            for source in sources where !allowed.contains(source) {
                problems.append("field '\(field)': source '\(source)' cannot provide it (possible: \(allowed.sorted().joined(separator: ", ")))")
            }
            if Set(sources).count != sources.count { problems.append("field '\(field)' lists a source twice") }
        }
        return problems
    }

    /// The rules in the file at `path`, or the standard ones without a path. Throws one
    /// error naming every problem.
    public static func load(path: String?) throws -> MergeRules {
        guard let path else { return .standard }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw AggregatorError("cannot read the merge rules at \(path): \(error.localizedDescription)")
        }
        let rules: MergeRules
        do {
            rules = try MessageCoding.decode(MergeRules.self, from: data)
        } catch {
            throw AggregatorError("the merge rules at \(path) are not valid JSON rules: \(MessageCoding.explain(error))")
        }
        if !rules.problems.isEmpty { throw AggregatorError("the merge rules at \(path): " + rules.problems.joined(separator: "; ")) }
        return rules
    }
}

/// The aggregator's errors: one line a person can act on.
public struct AggregatorError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
