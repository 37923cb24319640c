import Foundation

/// Faults to inject into a service, read from configuration so a person can watch
/// retries, fallbacks, compensation and recovery happen.
///
/// Written as `;`-separated entries, e.g.
/// `payment.authorize.v1: failure=0.5, latency=200ms; *: drop=0.1; crash-after=40`:
/// - `<message-type>: ...` or `*: ...` (every command) with
///   `failure=<0...1>` — reply `participant.command-failed.v1` (retriable) instead of acting,
///   `drop=<0...1>` — act as if the command never arrived (no reply: the sender times out),
///   `latency=<n>ms` — wait before handling;
/// - `crash-after=<n>` — the process exits abruptly right after committing its n-th
///   command, before the outbox relay publishes the outcome.
public struct FaultPlan: Sendable, Hashable {
    public struct Rule: Sendable, Hashable {
        public var failureRate: Double = 0
        public var dropRate: Double = 0
        public var latency: Duration = .zero

        public init(failureRate: Double = 0, dropRate: Double = 0, latency: Duration = .zero) {
            self.failureRate = failureRate
            self.dropRate = dropRate
            self.latency = latency
        }
    }

    /// Rules by message type; `*` applies to every type without its own rule.
    public var rules: [String: Rule]
    public var crashAfter: Int?

    public init(rules: [String: Rule] = [:], crashAfter: Int? = nil) {
        self.rules = rules
        self.crashAfter = crashAfter
    }

    public static let none = FaultPlan()

    public var isEmpty: Bool { rules.isEmpty && crashAfter == nil }

    public func rule(for messageType: String) -> Rule? {
        rules[messageType] ?? rules["*"]
    }

    /// Parses the text form above; `variable` names the setting in errors.
    public static func parse(_ text: String, variable: String) throws(ServiceKitError) -> FaultPlan {
        var plan = FaultPlan()
        for entry in text.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            if entry.hasPrefix("crash-after") {
                let parts = entry.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let count = Int(parts[1].trimmingCharacters(in: .whitespaces)), count > 0 else {
                    throw .invalid(variable, entry, expected: "crash-after=<positive number>")
                }
                plan.crashAfter = count
                continue
            }
            let parts = entry.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else {
                throw .invalid(variable, entry, expected: "<message-type or *>: failure=0.5, drop=0.1, latency=200ms")
            }
            let type = parts[0].trimmingCharacters(in: .whitespaces)
            var rule = Rule()
            for setting in parts[1].split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !setting.isEmpty {
                let pair = setting.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2 else { throw .invalid(variable, setting, expected: "name=value") }
                switch pair[0] {
                case "failure":
                    rule.failureRate = try probability(pair[1], variable: variable)
                case "drop":
                    rule.dropRate = try probability(pair[1], variable: variable)
                case "latency":
                    let digits = pair[1].hasSuffix("ms") ? String(pair[1].dropLast(2)) : pair[1]
                    guard let milliseconds = Int(digits), milliseconds >= 0 else {
                        throw .invalid(variable, setting, expected: "latency=<milliseconds>ms")
                    }
                    rule.latency = .milliseconds(milliseconds)
                default:
                    throw .invalid(variable, setting, expected: "failure, drop or latency")
                }
            }
            plan.rules[type] = rule
        }
        return plan
    }

    private static func probability(_ text: String, variable: String) throws(ServiceKitError) -> Double {
        guard let value = Double(text), (0...1).contains(value) else {
            throw .invalid(variable, text, expected: "a probability between 0 and 1")
        }
        return value
    }
}
