import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MessagingTesting
import Metrics
import Prometheus
import ServiceKit
import Testing

@Suite("Service HTTP server")
struct HTTPServerTests {
    private func application(health: HealthState, registry: PrometheusCollectorRegistry) -> some ApplicationProtocol {
        let router = ServiceHTTPServer.makeRouter(health: health, metrics: registry)
        router.post("echo") { request, context -> Response in
            struct Body: Codable { let name: String; let count: Int }
            let body = try await request.decodeJSON(Body.self, context: context)
            return try ServiceHTTPServer.jsonResponse(.ok, body)
        }
        return Application(router: router)
    }

    @Test("liveness answers; readiness follows the registered checks")
    func health() async throws {
        let health = HealthState()
        let app = application(health: health, registry: PrometheusCollectorRegistry())
        try await app.test(.router) { client in
            try await client.execute(uri: "/health/live", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable, "no check registered yet")
            }
            health.set("kafka", ready: false, detail: "connecting")
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("connecting"))
            }
            health.set("kafka", ready: true)
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""status":"ready""#))
            }
        }
    }

    @Test("metrics are served in Prometheus text format")
    func metrics() async throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "ensemble_test", unitName: "total", helpText: "a test counter")).increment(by: Int64(3))
        let app = application(health: HealthState(), registry: registry)
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(String(buffer: response.body).contains("ensemble_test_total 3"))
            }
        }
    }

    @Test("a malformed body is a 400 whose JSON error names the field; unknown paths are JSON 404s")
    func errors() async throws {
        let app = application(health: HealthState(), registry: PrometheusCollectorRegistry())
        try await app.test(.router) { client in
            try await client.execute(uri: "/echo", method: .post, body: ByteBuffer(string: #"{"name":"x","count":"many"}"#)) { response in
                #expect(response.status == .badRequest)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: [String: String]]
                #expect(body?["error"]?["code"] == "invalid-body")
                #expect(body?["error"]?["message"]?.contains("count") == true)
            }
            try await client.execute(uri: "/echo", method: .post, body: ByteBuffer(string: "not json")) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/echo", method: .post) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("empty"))
            }
            try await client.execute(uri: "/echo", method: .post, body: ByteBuffer(string: #"{"name":"x","count":2}"#)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains(#""code":"not-found""#))
            }
        }
    }
}

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    @Test("each entry is one JSON object on one line, with metadata")
    func oneObjectPerLine() throws {
        let lines = Locked<[Data]>([])
        var handler = JSONLogHandler(label: "payment", output: .init { data in lines.withLock { $0.append(data) } })
        handler[metadataKey: "service"] = "payment"
        let logger = Logger(label: "payment") { _ in handler }
        logger.info("charged\nonce", metadata: ["order.id": "o-1", "attempt": "\(2)"])
        logger.debug("hidden below the level")

        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.last == 0x0A)
        #expect(line.dropLast().contains(0x0A) == false, "a message's newline is escaped")
        let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        #expect(object["message"] as? String == "charged\nonce")
        #expect(object["level"] as? String == "info")
        #expect(object["order.id"] as? String == "o-1")
        #expect(object["service"] as? String == "payment")
        #expect(object["ts"] is String)
    }
}
