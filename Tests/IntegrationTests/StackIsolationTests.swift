import DevTools
import Foundation
import Testing

/// `ensemble up` as a person runs it: one service's failure or a flood of hostile records
/// must not take the stack down.
@Suite("ensemble up keeps going", .serialized)
struct StackIsolationTests {
    @Test("a service that fails inside ensemble up is restarted while the others keep answering")
    func failedServiceRestarts() async throws {
        _ = try TestBroker.servers // runs where the integration environment is set up
        // Payment fails (as a crash would, but only itself) right after its second command commits.
        let stack = try StackProcess(environment: ["PAYMENT_FAULTS": "crash-after=2"])
        defer { stack.stop() }
        try await stack.start()

        let id = try await stack.placeOrder(customer: "bob")
        try await eventually("the payment service to fail and be restarted (log: \(stack.logPath))") {
            stack.logLines.contains { $0["message"] as? String == "service failed; restarting it" && $0["service"] as? String == "payment" }
        }
        // While payment restarts, everyone else answers.
        for service in ["orchestrator", "inventory", "shipping", "profile"] {
            #expect(try await stack.status(service, "/health/live") == 200, "\(service) answers")
        }
        #expect(try await stack.status("profile", "/customers/bob") == 200)

        try await eventually("the order to complete once payment is back", timeout: .seconds(60)) {
            try await stack.orderStatus(id) == "completed"
        }
        try await eventually("payment to answer again") { try await stack.status("payment", "/health/ready") == 200 }
        let metrics = String(decoding: try await stack.get("payment", "/metrics").1, as: UTF8.self)
        #expect(metrics.contains(#"ensemble_service_restarts_total{service="payment"}"#))
        #expect(stack.isRunning, "the process is still up")
        let failed = Set(stack.logLines.filter { $0["message"] as? String == "service failed; restarting it" }.compactMap { $0["service"] as? String })
        #expect(failed == ["payment"], "only payment failed")
    }

    @Test("hostile records from an outside Kafka client all land in their dead-letter topics; the stack keeps working")
    func hostileRecords() async throws {
        _ = try TestBroker.servers
        let stack = try StackProcess()
        defer { stack.stop() }
        try await stack.start()

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/hostile-records.py").path
        let (termination, text, errorText) = try await ChildProcess.run(
            "/usr/bin/env", ["python3", script, "--brokers", "127.0.0.1:\(stack.brokerPort)", "--timeout", "60"], timeout: .seconds(180)
        )

        let lines = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let records = lines.filter { $0["id"] != nil }
        #expect(termination == .exited(0), "hostile-records.py: \(errorText)\(text)")
        #expect(records.count >= 40, "ten or more hostile records for each of the four command topics")
        for record in records {
            let id = record["id"] as? String ?? "?"
            #expect(record["found"] as? Bool == true, "\(id) is in a dead-letter topic")
            #expect(record["inExpectedTopic"] as? Bool == true, "\(id) is in its own topic's .dlq")
            #expect((record["reason"] as? String).map { !$0.isEmpty } == true, "\(id) has a reason")
        }
        let oversized = records.filter { ($0["id"] as? String)?.hasSuffix("/oversized") == true }
        #expect(oversized.count == 4 && oversized.allSatisfy { ($0["truncated"] as? String)?.contains("body") == true })

        #expect(stack.isRunning, "the stack is still up")
        #expect(!stack.logText.contains("service failed"), "no service failed")
        let id = try await stack.placeOrder(customer: "bob")
        try await eventually("an order placed afterwards to complete", timeout: .seconds(60)) {
            try await stack.orderStatus(id) == "completed"
        }
    }
}
