import ArgumentParser
import Foundation
import Messaging
import OrchestratorCore

/// `ensemble breakers`: every route's circuit breaker, from the orchestrator.
struct BreakersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakers",
        abstract: "Show every route's circuit breaker (state, failures in a row, next trial)."
    )

    @Option(help: "The orchestrator's base URL.")
    var url = "http://127.0.0.1:8080"

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let breakers = try await OrchestratorClient(url: url).breakers()
        if json {
            print(String(decoding: try JSONEncoder.pretty.encode(breakers), as: UTF8.self))
            return
        }
        guard !breakers.isEmpty else {
            print("No route has been used yet.")
            return
        }
        let rows = breakers.map { breaker in
            [
                breaker.route, breaker.state.rawValue, "\(breaker.failures)",
                breaker.openedAt.map(Self.time) ?? "-",
                breaker.state == .closed ? "-" : breaker.nextTrialAt.map(Self.time) ?? "-",
                "\(breaker.policy.threshold) failures → open \(Self.seconds(breaker.policy.openSeconds)), \(breaker.policy.halfOpenTrials) trial\(breaker.policy.halfOpenTrials == 1 ? "" : "s")",
            ]
        }
        print(TextTable(title: "circuit breakers at \(url)", columns: ["route", "state", "failures", "opened", "next trial", "policy"], rows: rows).rendered)
    }

    static func time(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false).time(includingFractionalSeconds: false))
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
