import Contracts
import Foundation
import Messaging
import OrchestratorCore

/// One mode's figures in one phase.
struct ModeRun: Codable, Sendable {
    var mode: CheckoutMode
    var orders: Int
    var seconds: Double
    var completed: Int
    var compensated: Int
    var failed: Int
    var needsAttention: Int
    var unfinished: Int
    /// Orders that ended in a status their kind's rules do not allow.
    var unexpected: Int
    var completedPerSecond: Double
    var latencyP50Milliseconds: Double
    var latencyP95Milliseconds: Double
    var latencyP99Milliseconds: Double
    var latencyMaxMilliseconds: Double
    var messagesPerOrder: Double
    var bytesPerOrder: Double
    /// Median length of the causation chain from `order-placed` to `order-completed`.
    var happyPathHops: Int?
    var capturedForFailed: Int
    var completedNotCaptured: Int
    var danglingReservations: Int
    var stockConserved: Bool?
    var stackCPUMillisecondsPerOrder: Double?
    var brokerCPUMillisecondsPerOrder: Double?
    /// Wall time inside message handlers per order, by service (the stack shares one
    /// process, so this is what can be told apart per service; CPU is per process).
    var handlerMillisecondsPerOrder: [String: Double]?
    /// Sorted end-to-end latencies, for the chart.
    var latencies: [Double]

    var allTerminal: Bool { unfinished == 0 }
    var correct: Bool {
        allTerminal && unexpected == 0 && capturedForFailed == 0 && completedNotCaptured == 0 && danglingReservations == 0 && stockConserved != false
    }
}

/// One mode with a participant stopped mid-run.
struct FailureRun: Codable, Sendable {
    var mode: CheckoutMode
    var orders: Int
    var stopped: String
    var stoppedSeconds: Int
    var seconds: Double
    var completed: Int
    var compensated: Int
    var failed: Int
    var needsAttention: Int
    /// Orders with no outcome event within the bench's timeout.
    var lost: Int
    /// Orders that would have completed without the stop and did not.
    var happyNotCompleted: Int
    var timeToTerminalP50Milliseconds: Double
    var timeToTerminalP99Milliseconds: Double
    var timeToTerminalMaxMilliseconds: Double
}

/// The structural side, from what the services declare.
struct Structure: Codable, Sendable {
    var subscriptions: [String: [String: [String]]]
    var changeToAddStepAfterVerification: [String: [String]]
    var shippingRuleLives: [String: String]

    static var declared: Structure {
        var orchestrated: [String: [String]] = ["orchestrator": [TopicCatalog.orchestratorReplies]]
        var choreographed: [String: [String]] = ["orchestrator (tracker)": ChoreographyTracker.sources.map(TopicCatalog.choreographyEvents)]
        for participant in ServiceName.participants {
            orchestrated[participant.rawValue] = [TopicCatalog.commands(participant)]
            choreographed[participant.rawValue] = ChoreographyCatalog.sources(of: participant).map(TopicCatalog.choreographyEvents)
        }
        let reacting = ChoreographyCatalog.reactions.filter { $0.on == CustomerVerified.self }.map(\.service.rawValue)
        return Structure(
            subscriptions: [CheckoutMode.orchestration.rawValue: orchestrated, CheckoutMode.choreography.rawValue: choreographed],
            changeToAddStepAfterVerification: [
                CheckoutMode.orchestration.rawValue: ["orchestrator: a new version of the checkout definition (JSON, imported at run time)"],
                CheckoutMode.choreography.rawValue: Array(Set(reacting)).sorted().map { "\($0): react to the new step's event instead of customer-verified" }
                    + ["orchestrator (tracker): only if the new step can fail"],
            ],
            shippingRuleLives: [
                CheckoutMode.orchestration.rawValue: "orchestrator: the checkout definition's premium-shipping decision",
                CheckoutMode.choreography.rawValue: "shipping: its own join (ShippingRules.premiumPerk)",
            ]
        )
    }
}

struct ComparisonResult: Codable, Sendable {
    var orders: Int
    var concurrency: Int
    var mix: String
    var sequential: [ModeRun]
    var interleaved: [ModeRun]
    var failure: [FailureRun]
    var structure: Structure

    func run(_ runs: [ModeRun], _ mode: CheckoutMode) -> ModeRun? { runs.first { $0.mode == mode } }

    /// Rows "measure | orchestration | choreography" for one phase.
    func rows(_ runs: [ModeRun]) -> [[String]] {
        let modes = CheckoutMode.allCases.map { run(runs, $0) }
        func row(_ name: String, _ value: (ModeRun) -> String) -> [String] { [name] + modes.map { $0.map(value) ?? "—" } }
        var rows = [
            row("completed orders/s") { format($0.completedPerSecond, 1) },
            row("end-to-end p50 / p95 / p99") { "\(format($0.latencyP50Milliseconds, 1)) / \(format($0.latencyP95Milliseconds, 1)) / \(format($0.latencyP99Milliseconds, 1)) ms" },
            row("outcomes") { "\($0.completed) completed, \($0.compensated) compensated, \($0.failed) failed, \($0.needsAttention) attention, \($0.unfinished) unfinished" },
            row("Kafka messages per order") { format($0.messagesPerOrder, 1) },
            row("Kafka bytes per order") { format($0.bytesPerOrder, 0) },
            row("sequential hops, happy path") { $0.happyPathHops.map(String.init) ?? "—" },
        ]
        if modes.contains(where: { $0?.stackCPUMillisecondsPerOrder != nil }) {
            rows.append(row("CPU per order: stack / broker") { run in
                "\(run.stackCPUMillisecondsPerOrder.map { format($0, 2) } ?? "?") / \(run.brokerCPUMillisecondsPerOrder.map { format($0, 2) } ?? "?") ms"
            })
            rows.append(row("handler wall time per order, by service") { run in
                (run.handlerMillisecondsPerOrder ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \(format($0.value, 2))" }.joined(separator: ", ") + " ms"
            })
        }
        rows.append(row("correct") { run in
            run.correct ? "yes" : "NO: \(run.unexpected) unexpected, \(run.capturedForFailed) captured for failed, \(run.completedNotCaptured) completed uncaptured, \(run.danglingReservations) reservations left, stock \(run.stockConserved == false ? "not " : "")conserved"
        })
        return rows
    }

    var failureRows: [[String]] {
        let modes = CheckoutMode.allCases.map { mode in failure.first { $0.mode == mode } }
        func row(_ name: String, _ value: (FailureRun) -> String) -> [String] { [name] + modes.map { $0.map(value) ?? "—" } }
        return [
            row("stopped") { "\($0.stopped) for \($0.stoppedSeconds) s, \($0.orders) orders" },
            row("orders lost (no outcome)") { "\($0.lost)" },
            row("outcomes") { "\($0.completed) completed, \($0.compensated) compensated, \($0.failed) failed, \($0.needsAttention) attention" },
            row("happy orders not completed") { "\($0.happyNotCompleted)" },
            row("time to terminal p50 / p99 / max") {
                "\(format($0.timeToTerminalP50Milliseconds / 1000, 2)) / \(format($0.timeToTerminalP99Milliseconds / 1000, 2)) / \(format($0.timeToTerminalMaxMilliseconds / 1000, 2)) s"
            },
        ]
    }

    var structureRows: [[String]] {
        let modes = CheckoutMode.allCases.map(\.rawValue)
        let services = ServiceName.participants.map(\.rawValue).sorted()
        var rows: [[String]] = services.map { service in
            ["topics \(service) subscribes to"] + modes.map { (structure.subscriptions[$0]?[service] ?? []).joined(separator: ", ") }
        }
        rows.append(["topics the outcome needs"] + modes.map { mode in
            mode == CheckoutMode.orchestration.rawValue ? "orchestrator.replies (the saga knows)" : (structure.subscriptions[mode]?["orchestrator (tracker)"] ?? []).joined(separator: ", ")
        })
        rows.append(["services to change to add a step after verification"] + modes.map { mode in
            let changes = structure.changeToAddStepAfterVerification[mode] ?? []
            return "\(changes.count): " + changes.map { String($0.split(separator: ":").first ?? "") }.joined(separator: ", ")
        })
        rows.append(["where the premium shipping rule lives"] + modes.map { structure.shippingRuleLives[$0] ?? "" })
        return rows
    }

    var tables: String {
        let columns = ["measure"] + CheckoutMode.allCases.map(\.rawValue)
        return [
            TextTable(title: "ensemble bench compare — \(orders) orders per mode, \(concurrency) in flight, mix \(mix): one mode after the other", columns: columns, rows: rows(sequential)).rendered,
            TextTable(title: "both modes at once (\(orders) orders each, interleaved)", columns: columns, rows: rows(interleaved)).rendered,
            failure.isEmpty ? nil : TextTable(title: "a participant stopped mid-run", columns: columns, rows: failureRows).rendered,
            TextTable(title: "structure, from the declared flows", columns: columns, rows: structureRows).rendered,
        ].compactMap { $0 }.joined(separator: "\n\n")
    }
}
