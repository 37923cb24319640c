extension SagaDefinition {
    /// The definition as a Mermaid flowchart: stages top to bottom, parallel groups side by
    /// side, decisions as diamonds, compensations as dotted edges; the pivot is marked, and
    /// so are the steps after it, which are retried until they succeed.
    public var mermaid: String {
        var lines = ["flowchart TD", "    start([\(name) v\(version): order placed])"]
        var previous = ["start"]
        func node(_ id: String) -> String { "s_" + id.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined() }
        func label(_ step: Step) -> String {
            var text = "\(step.id)<br/><small>\(step.participant): \(step.command)</small>"
            if let fallback = step.fallback { text += "<br/><small>fallback: \(fallback.set.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ", "))</small>" }
            if step.id == pivot { text += "<br/><b>pivot: point of no return</b>" }
            if isRetriable(step.id) { text += "<br/><small>retried until it succeeds</small>" }
            return text
        }
        for (index, stage) in stages.enumerated() {
            switch stage {
            case .step(let step):
                lines.append("    \(node(step.id))[\"\(label(step))\"]")
                lines += previous.map { "    \($0) --> \(node(step.id))" }
                previous = [node(step.id)]
            case .parallel(let steps):
                let fork = "fork\(index)", join = "join\(index)"
                lines.append("    \(fork){{parallel}}")
                lines += previous.map { "    \($0) --> \(fork)" }
                lines.append("    \(join){{join}}")
                for step in steps {
                    lines.append("    \(node(step.id))[\"\(label(step))\"]")
                    lines.append("    \(fork) --> \(node(step.id))")
                    lines.append("    \(node(step.id)) --> \(join)")
                }
                previous = [join]
            case .decide(let decision):
                lines.append("    \(node(decision.id)){\"\(decision.id)\"}")
                lines += previous.map { "    \($0) --> \(node(decision.id))" }
                let then = decision.then.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ", ")
                lines.append("    \(node(decision.id))_then[\"set \(then.replacingOccurrences(of: "\"", with: "'"))\"]")
                lines.append("    \(node(decision.id)) -->|yes| \(node(decision.id))_then")
                previous = ["\(node(decision.id))_then", node(decision.id)]
                lines.append("    %% 'no' continues with \((decision.otherwise ?? [:]).isEmpty ? "nothing set" : "otherwise values")")
            }
        }
        lines.append("    done([completed])")
        lines += previous.map { "    \($0) --> done" }
        for step in steps {
            if let compensation = step.compensation {
                lines.append("    \(node(step.id))_undo[/\"undo: \(compensation)\"/]")
                lines.append("    \(node(step.id)) -.->|on failure| \(node(step.id))_undo")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
