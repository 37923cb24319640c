import Foundation

/// What a chaos run did and found: printed as tables, or as one JSON object.
struct ChaosResult: Codable, Sendable {
    var seed: UInt64
    var orders: Int
    var concurrency: Int
    var killEverySeconds: Double
    var services: [String]
    var modes: [String]
    var mix: String
    var kills: Int
    var pauses: Int
    var faultsByService: [String: Int]
    /// Times each process was started again.
    var restarts: [String: Int]
    var placingSeconds: Double
    /// From every service being ready after the last fault to every order terminal.
    var terminalSecondsAfterLastFault: Double?
    /// From the same moment to every order terminal, outbox empty and group caught up.
    var quiescenceSeconds: Double
    /// Orders per final state, per mode.
    var states: [String: [String: Int]]
    /// Orders whose final state is not one their kind may end in (a happy order
    /// compensated because a step timed out while its service was down, say): expected
    /// under faults, counted, not a violation.
    var unexpectedOutcomes: Int
    var profilesCompared: Int
    var deadLetters: [String: Int64]
    var violations: [Violation]
    var faults: [FaultRecord]

    var tables: String {
        func number(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "-" }
        let run = TextTable(title: "Chaos run (seed \(seed))", columns: ["figure", "value"], rows: [
            ["orders", "\(orders) (\(modes.joined(separator: " + "))), \(concurrency) in flight, mix \(mix)"],
            ["faults", "\(kills) kills (SIGKILL), \(pauses) pauses (SIGSTOP 8 s), about every \(number(killEverySeconds)) s"],
            ["faults per service", faultsByService.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")],
            ["restarts", restarts.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")],
            ["placing, s", number(placingSeconds)],
            ["all terminal after the last fault, s", number(terminalSecondsAfterLastFault)],
            ["quiescence after the last fault, s", number(quiescenceSeconds)],
            ["outcomes a fault changed", "\(unexpectedOutcomes)"],
            ["profiles compared with a rebuild", "\(profilesCompared)"],
            ["invariant violations", "\(violations.count)"],
        ])
        let statuses = ["completed", "compensated", "failed", "needs-attention"]
        let others = Set(states.values.flatMap(\.keys)).subtracting(statuses).sorted()
        let outcome = TextTable(
            title: "Orders per final state", columns: ["mode"] + statuses + others,
            rows: modes.map { mode in [mode] + (statuses + others).map { "\(states[mode]?[$0] ?? 0)" } }
        )
        var text = run.rendered + "\n\n" + outcome.rendered
        if !violations.isEmpty {
            let shown = violations.prefix(40)
            text += "\n\n" + TextTable(title: "Violations", columns: ["rule", "detail"], rows: shown.map { [$0.rule, $0.detail] }).rendered
            if violations.count > shown.count { text += "\n… and \(violations.count - shown.count) more (--json lists them all)" }
        }
        return text
    }
}
