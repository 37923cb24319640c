import Foundation
import Messaging

/// Why a saga definition cannot be used.
public struct DefinitionError: Error, Sendable, Hashable, CustomStringConvertible {
    public let problems: [String]
    public var description: String { "invalid saga definition: " + problems.joined(separator: "; ") }
}

extension SagaDefinition {
    static let settableRule = "decisions, fallbacks and conditions use strings, booleans, null or whole numbers up to 10^15 in size (amounts as strings: \"100.00\")"

    /// What a decision or a fallback may set and a condition compare with (the document's
    /// `SettableValue`).
    static func isSettable(_ value: JSONValue) -> Bool {
        switch value {
        case .null, .bool, .string: return true
        case .number(let number):
            var value = number
            var whole = Decimal()
            NSDecimalRound(&whole, &value, 0, .plain)
            return whole == number && abs(number) <= 1_000_000_000_000_000
        case .array, .object: return false
        }
    }

    /// Checks the definition against the catalog; throws every problem found, each naming its step.
    public func validate(catalog: CommandCatalog = .standard) throws(DefinitionError) {
        var problems: [String] = []
        if name.isEmpty || name.contains(where: { $0.isWhitespace || $0 == "/" }) { problems.append("name '\(name)' must be a word without spaces or '/'") }
        if version < 1 { problems.append("version must be 1 or more") }
        if stages.isEmpty { problems.append("there are no stages") }

        var seen: Set<String> = []
        var available = Set(CommandCatalog.initialPaths)
        func readable(_ path: String) -> Bool {
            available.contains { $0 == path || path.hasPrefix($0 + ".") || $0.hasPrefix(path + ".") }
        }
        for (index, stage) in stages.enumerated() {
            var produced: [String] = []
            if case .parallel(let steps) = stage, steps.isEmpty { problems.append("stage \(index + 1) is an empty parallel group") }
            if case .decide(let decision) = stage {
                if !seen.insert(decision.id).inserted { problems.append("id '\(decision.id)' is used twice") }
                for (key, value) in decision.then.merging(decision.otherwise ?? [:], uniquingKeysWith: { first, _ in first }) where !Self.isSettable(value) {
                    problems.append("decision '\(decision.id)' sets '\(key)' to \(value): \(Self.settableRule)")
                }
                for value in decision.when.values where !Self.isSettable(value) {
                    problems.append("decision '\(decision.id)' compares with \(value): \(Self.settableRule)")
                }
                for path in decision.when.paths where !readable(path) {
                    problems.append("decision '\(decision.id)' reads '\(path)', which no earlier step provides")
                }
                if decision.when.isNeverTrue { problems.append("decision '\(decision.id)' has a condition that can never hold") }
                produced += Array(decision.then.keys) + Array((decision.otherwise ?? [:]).keys)
            }
            for step in stage.steps {
                if step.id.isEmpty || !seen.insert(step.id).inserted { problems.append("id '\(step.id)' is empty or used twice") }
                if !CommandCatalog.participants.contains(step.participant) {
                    problems.append("step '\(step.id)': unknown participant '\(step.participant)' (known: \(CommandCatalog.participants.sorted().map(\.rawValue).joined(separator: ", ")))")
                }
                if let entry = catalog.commands[step.command] {
                    if entry.participant != step.participant {
                        problems.append("step '\(step.id)': \(step.command) belongs to \(entry.participant), not \(step.participant)")
                    }
                    produced += entry.provides
                } else {
                    problems.append("step '\(step.id)': unknown command '\(step.command)'")
                }
                if let compensation = step.compensation {
                    if let entry = catalog.commands[compensation] {
                        if entry.participant != step.participant {
                            problems.append("step '\(step.id)': compensation \(compensation) belongs to \(entry.participant), not \(step.participant)")
                        }
                    } else {
                        problems.append("step '\(step.id)': unknown compensation '\(compensation)'")
                    }
                } else if catalog.commands[step.command]?.changesState == true && index < stages.count - 1 && !isRetriable(step.id) && step.id != pivot {
                    problems.append("step '\(step.id)': \(step.command) changes state and later stages can fail, but it has no compensation")
                }
                if isRetriable(step.id) {
                    if step.compensation != nil {
                        problems.append("step '\(step.id)' comes after the pivot '\(pivot ?? "")': it is retried until it succeeds and never compensated, so it cannot have a compensation")
                    }
                    if step.fallback != nil {
                        problems.append("step '\(step.id)' comes after the pivot '\(pivot ?? "")': it cannot have a fallback")
                    }
                }
                if let timeout = step.timeoutMilliseconds, timeout <= 0 { problems.append("step '\(step.id)': timeoutMilliseconds must be positive") }
                if let retry = step.retry, retry.attempts < 1 { problems.append("step '\(step.id)': retry attempts must be 1 or more") }
                if let condition = step.when {
                    for value in condition.values where !Self.isSettable(value) {
                        problems.append("step '\(step.id)': its condition compares with \(value): \(Self.settableRule)")
                    }
                    if condition.isNeverTrue {
                        problems.append("step '\(step.id)' is unreachable: its condition can never hold")
                    }
                    for path in condition.paths where !readable(path) {
                        problems.append("step '\(step.id)' is unreachable: its condition reads '\(path)', which no earlier step provides")
                    }
                }
                if let fallback = step.fallback {
                    if fallback.set.isEmpty { problems.append("step '\(step.id)': a fallback must set at least one value") }
                    for (key, value) in fallback.set where !Self.isSettable(value) {
                        problems.append("step '\(step.id)': its fallback sets '\(key)' to \(value): \(Self.settableRule)")
                    }
                    produced += Array(fallback.set.keys)
                }
            }
            available.formUnion(produced)
        }
        if let pivot {
            if let index = stageIndex(of: pivot) {
                if case .step = stages[index] {} else {
                    problems.append("the pivot '\(pivot)' must be a stage of its own (not in a parallel group or a decision)")
                }
            } else {
                problems.append("the pivot '\(pivot)' is not a step of this saga")
            }
        }
        if let stuck = stuckAfterSeconds, stuck < 1 { problems.append("stuckAfterSeconds must be 1 or more") }
        for step in steps {
            for (name, policy) in [step.route(fallback: false)] + (step.fallback == nil ? [] : [step.route(fallback: true)]) {
                if name.isEmpty || name.contains(where: \.isWhitespace) { problems.append("step '\(step.id)': route '\(name)' must be a name without spaces") }
                guard let policy else { continue }
                if policy.threshold < 1 { problems.append("step '\(step.id)': route \(name): breaker threshold must be 1 or more") }
                if policy.openSeconds <= 0 { problems.append("step '\(step.id)': route \(name): breaker openSeconds must be positive") }
                if policy.halfOpenTrials < 1 { problems.append("step '\(step.id)': route \(name): breaker halfOpenTrials must be 1 or more") }
            }
        }
        for step in steps where step.fallback != nil && step.fallbackRoute == step.primaryRoute {
            problems.append("step '\(step.id)': its fallback takes the same route '\(step.primaryRoute)'; a fallback needs a route of its own")
        }
        if !problems.isEmpty { throw DefinitionError(problems: problems) }
    }
}
