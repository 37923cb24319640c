import DevTools
import Foundation
import MessagingTesting
import Testing

/// Ten thousand poison records from an outside Kafka client, over every command, reply
/// and event topic, while valid orders of both modes run on the same stack.
@Suite("Poison flood", .serialized)
struct PoisonFloodTests {
    @Test("10,000 malformed or unknown records interleaved with 100 orders: every order finishes, every record is in its topic's .dlq with a reason, no service restarts")
    func flood() async throws {
        let stack = try StackProcess()
        defer { stack.stop() }
        try await stack.start()
        let (stocked, _) = try await stack.put("inventory", "/stock/SKU-COFFEE", json: #"{"onHand": 100000}"#)
        #expect(stocked == 200)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/poison-flood.py").path
        let flood = Task {
            try await ChildProcess.run(
                "/usr/bin/env", ["python3", script, "--brokers", "127.0.0.1:\(stack.brokerPort)", "--count", "10000", "--timeout", "300"],
                timeout: .seconds(420)
            )
        }
        // Valid orders while the flood goes on, half of each mode.
        var ids: [String] = []
        for index in 0..<100 {
            ids.append(try await stack.placeOrder(key: TestBroker.unique("flood-\(index)"), mode: index % 2 == 0 ? "orchestration" : "choreography"))
            if index % 10 == 9 { try await Task.sleep(for: .milliseconds(200)) }
        }
        let (termination, output, errors) = try await flood.value
        let summary = try #require(
            output.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] },
            "poison-flood.py (\(termination)): \(errors.suffix(2000))\(output.suffix(2000))"
        )
        #expect(termination == .exited(0), "\(summary)")
        #expect(summary["sent"] as? Int == 10_000)
        #expect(summary["missing"] as? Int == 0, "not dead-lettered: \(summary["missingExamples"] ?? "?")")
        #expect(summary["inWrongTopic"] as? Int == 0)
        let reasons = summary["reasons"] as? [String: Int] ?? [:]
        #expect(reasons.values.reduce(0, +) == 10_000, "\(reasons)")

        let unfinished: Set<String> = ["running", "compensating", "missing"]
        let placed = ids
        let known = Locked<[String: String]>([:])
        try await eventually("every valid order terminal", timeout: .seconds(180)) {
            for id in placed where known.withLock({ $0[id] }).map(unfinished.contains) ?? true {
                let status = try await stack.orderStatus(id) ?? "missing"
                known.withLock { $0[id] = status }
            }
            return known.withLock { $0.count == placed.count && $0.values.allSatisfy { !unfinished.contains($0) } }
        }
        let outcomes = known.withLock { $0 }.values.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
        print("poison flood: \(summary["deadLetters"] ?? "?") dead letters for 10,000 records in \(summary["seconds"] ?? "?") s, reasons \(reasons); orders \(outcomes)")
        #expect(stack.isRunning, "the stack is still up")
        #expect(!stack.logText.contains("service failed"), "no service failed or restarted")
    }
}
