import Foundation
import DevTools
import Kafka
import Messaging
import Testing

/// Spans over OTLP: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, every service's handling of
/// an order's messages is exported, and each message names the producer span that sent it.
@Suite("Spans exported over OTLP", .serialized)
struct SpanExportTests {
    /// An OTLP/HTTP collector on loopback (Python's http.server): each POST body, hex, one
    /// per line in `path`.
    final class Collector: @unchecked Sendable {
        let process = Process()
        let port: Int
        let path: String

        init() throws {
            port = try EmbeddedBroker.freeListeningPort(in: 30_001...40_000)
            path = FileManager.default.temporaryDirectory.appendingPathComponent("otlp-\(UUID().uuidString).hex").path
            FileManager.default.createFile(atPath: path, contents: nil)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                    with open(sys.argv[2], 'a') as f: f.write(self.path + ' ' + body.hex() + '\\n')
                    self.send_response(200); self.send_header('Content-Type', 'application/x-protobuf'); self.send_header('Content-Length', '0'); self.end_headers()
                def log_message(self, *args): pass
            http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
            """, String(port), path]
            // Not the test's output: a child holding it open would keep `swift test`'s
            // pipe from ending.
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Everything received on /v1/traces so far, hex.
        var received: String {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix("/v1/traces ") }.joined(separator: "\n")
        }

        func stop() {
            // SIGKILL: a child of the test process inherits SIGTERM ignored.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    @Test("an order's spans reach the collector: a span for every message sent, in the order's trace, from every service")
    func exported() async throws {
        _ = try TestBroker.servers
        let collector = try Collector()
        defer { collector.stop() }
        let stack = try StackProcess(environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(collector.port)",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        ])
        defer { stack.stop() }
        try await stack.start()
        let trace = String((0..<32).map { _ in "0123456789abcdef".randomElement()! })
        let body = """
        {"customerId": "bob", "items": [{"sku": "SKU-COFFEE", "quantity": 1, "unitPrice": "9.99"}], "payment": {"card": "4111111111111111"},
         "shipTo": {"name": "Test", "line1": "1 Test St", "city": "Testville", "postalCode": "12345", "country": "US"}}
        """
        let (status, data) = try await stack.post("orchestrator", "/orders", json: body, headers: ["traceparent": "00-\(trace)-00f067aa0ba902b7-01"])
        #expect(status == 202)
        let order = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["orderId"] as? String)
        try await eventually("the order to finish", timeout: .seconds(60)) { try await stack.orderStatus(order) == "completed" }

        let messages = try await stack.allRecords().filter { $0.headers.string(for: EnvelopeHeader.correlationID) == order }
        #expect(messages.count >= 8)
        let sent = messages.compactMap { Envelope.traceIDs(of: $0.headers.string(for: EnvelopeHeader.traceparent)) }
        #expect(sent.count == messages.count && Set(sent.map(\.trace)) == [trace], "every message is in the caller's trace")
        #expect(Set(sent.map(\.span)).count == sent.count, "each message has a span of its own")
        // Each message's span (its producer span) and the consumer spans named by message
        // type reach the collector, in the order's trace.
        try await eventually("every message's span at the collector", timeout: .seconds(30)) {
            let received = collector.received
            return received.contains(trace) && sent.allSatisfy { received.contains($0.span) }
        }
        let received = collector.received
        for type in Set(messages.compactMap { $0.headers.string(for: EnvelopeHeader.messageType) }) {
            #expect(received.contains(Data(type.utf8).map { String(format: "%02x", $0) }.joined()), "a span named \(type)")
        }
    }
}
