import DevTools
import Foundation
import Testing

/// `ensemble chaos` as a person runs it: its own stack of service processes, a fault
/// about every 2 s (SIGKILL, or SIGSTOP past the session timeout) while orders of both
/// modes run, then every invariant checked from the services' databases and the broker.
@Suite("Chaos round", .serialized)
struct ChaosTests {
    @Test("200 orders, both modes, a service killed or paused about every 2 s: every order terminal, no invariant violated")
    func shortRound() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestBroker.unique("chaos")).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let output = "\(directory)/result.json"
        let progress = "\(directory)/progress.log"
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "KAFKA_BROKERS")
        environment["KAFKA_TOPIC_PARTITIONS"] = "2"
        let process = try ChildProcess(
            try EnsembleBinary.path,
            ["chaos", "--orders", "200", "--concurrency", "16", "--kill-every", "2s", "--mode", "both", "--seed", "7", "--json", "--directory", "\(directory)/run"],
            environment: environment, directory: directory, output: output, errors: progress
        )
        guard let termination = await process.wait(timeout: .seconds(900)) else {
            process.send(SIGKILL)
            Issue.record("ensemble chaos did not finish within 15 minutes; \(directory)")
            return
        }
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let result = try #require(
            try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            "no JSON result (\(termination)); stderr: \((try? String(contentsOfFile: progress, encoding: .utf8))?.suffix(2000) ?? "")"
        )
        let violations = result["violations"] as? [[String: Any]] ?? [["rule": "unreadable"]]
        #expect(violations.isEmpty, "\(violations.prefix(20))")
        #expect(termination == .exited(0))
        let kills = result["kills"] as? Int ?? 0
        let pauses = result["pauses"] as? Int ?? 0
        #expect(kills + pauses >= 10, "faults done: \(kills) kills, \(pauses) pauses")
        let states = result["states"] as? [String: [String: Int]] ?? [:]
        #expect(Set(states.keys) == ["orchestration", "choreography"])
        let terminal: Set<String> = ["completed", "compensated", "failed", "needs-attention"]
        #expect(states.values.flatMap { $0 }.filter { terminal.contains($0.key) }.map(\.value).reduce(0, +) == 200, "\(states)")
        #expect((result["profilesCompared"] as? Int ?? 0) >= 3)
        print("chaos round: \(kills) kills, \(pauses) pauses; \(states); quiet \(result["quiescenceSeconds"] ?? "?") s after the last fault")
    }
}
