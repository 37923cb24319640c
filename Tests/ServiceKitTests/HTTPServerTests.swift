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
        let routes = ServiceHTTPServer.makeRoutes(health: health, metrics: registry, access: .off)
        routes.post("echo", scope: .ordersWrite) { request, context -> Response in
            struct Body: Codable { let name: String; let count: Int }
            let body = try await request.decodeJSON(Body.self, context: context)
            return try ServiceHTTPServer.jsonResponse(.ok, body)
        }
        routes.get("things/:id", scope: .ordersRead) { _, context -> Response in
            try ServiceHTTPServer.jsonResponse(.ok, ["id": try context.parameters.decoded("id")])
        }
        return Application(router: routes.router)
    }

    @Test("a path parameter reaches the handler percent-decoded; a broken encoding is a 400 naming it")
    func pathParameters() async throws {
        let app = application(health: HealthState(), registry: PrometheusCollectorRegistry())
        try await app.test(.router) { client in
            try await client.execute(uri: "/things/%C3%A9t%C3%A9%20%26%3F", method: .get) { response in
                #expect(response.status == .ok)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: String]
                #expect(body?["id"] == "été &?")
            }
            try await client.execute(uri: "/things/plain-id", method: .get) { response in
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: String]
                #expect(body?["id"] == "plain-id")
            }
            try await client.execute(uri: "/things/bad%ZZ", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("id is not valid percent-encoding"))
            }
        }
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
            // A path that exists with another method: 405 with the methods it has.
            try await client.execute(uri: "/echo", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
                #expect(String(buffer: response.body).contains(#""code":"method-not-allowed""#))
            }
            try await client.execute(uri: "/health/live", method: .delete) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET")
            }
        }
    }
}

@Suite("Bearer tokens and scopes")
struct AccessTests {
    static let secret = String(repeating: "s3cr3t-", count: 6)

    private func application(metricsOpen: Bool = true) async throws -> (some ApplicationProtocol, AccessTokens) {
        let access = try await AccessControl.make(AccessSettings(mode: .tokens(secret: Self.secret), metricsOpen: metricsOpen))
        let routes = ServiceHTTPServer.makeRoutes(health: HealthState(), metrics: PrometheusCollectorRegistry(), access: access)
        routes.put("stock/:sku", scope: .inventoryWrite) { _, _ -> Response in try ServiceHTTPServer.jsonResponse(.ok, ["done": true]) }
        return (Application(router: routes.router), try #require(access.tokens))
    }

    /// The `error` object of a JSON error response (empty when the body is not one).
    private func error(_ response: TestResponse) -> [String: String] {
        ((try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: [String: String]])?["error"] ?? [:]
    }

    @Test("no token is 401, another scope 403, the right scope passes, an expired or foreign token 401; each error names the scope")
    func scopes() async throws {
        let (app, tokens) = try await application()
        let writer = try await tokens.issue(subject: "ops", scopes: [.inventoryWrite], lifetime: .seconds(60))
        let reader = try await tokens.issue(subject: "dash", scopes: [.inventoryRead, .ordersRead], lifetime: .seconds(60))
        let expired = try await tokens.issue(subject: "ops", scopes: [.inventoryWrite], lifetime: .seconds(60), now: Date().addingTimeInterval(-120))
        let foreign = try await AccessTokens.make(secret: String(repeating: "other-", count: 7)).issue(subject: "x", scopes: Scope.allCases, lifetime: .seconds(60))
        try await app.test(.router) { client in
            try await client.execute(uri: "/stock/SKU-MUG", method: .put) { response in
                #expect(response.status == .unauthorized)
                #expect(error(response)["code"] == "unauthenticated")
                #expect(error(response)["message"]?.contains("inventory:write") == true)
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
            try await client.execute(uri: "/stock/SKU-MUG", method: .put, headers: [.authorization: "Bearer \(reader)"]) { response in
                #expect(response.status == .forbidden)
                #expect(error(response)["code"] == "insufficient-scope")
                #expect(error(response)["message"]?.contains("inventory:write") == true)
            }
            try await client.execute(uri: "/stock/SKU-MUG", method: .put, headers: [.authorization: "Bearer \(writer)"]) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/stock/SKU-MUG", method: .put, headers: [.authorization: "Bearer \(expired)"]) { response in
                #expect(response.status == .unauthorized)
                #expect(error(response)["code"] == "expired-token")
            }
            for bad in [foreign, "not-a-jwt", writer + "x"] {
                try await client.execute(uri: "/stock/SKU-MUG", method: .put, headers: [.authorization: "Bearer \(bad)"]) { response in
                    #expect(response.status == .unauthorized)
                    #expect(error(response)["code"] == "invalid-token")
                }
            }
            try await client.execute(uri: "/stock/SKU-MUG", method: .put, headers: [.authorization: "Basic dXNlcjpwYXNz"]) { response in
                #expect(response.status == .unauthorized, "only bearer tokens count")
            }
            // Health is open, and so are metrics unless protected.
            try await client.execute(uri: "/health/live", method: .get) { response in #expect(response.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in #expect(response.status == .ok) }
        }
    }

    @Test("protected metrics need admin")
    func protectedMetrics() async throws {
        let (app, tokens) = try await application(metricsOpen: false)
        let admin = try await tokens.issue(subject: "prometheus", scopes: [.admin], lifetime: .seconds(60))
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in #expect(response.status == .unauthorized) }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(admin)"]) { response in #expect(response.status == .ok) }
            try await client.execute(uri: "/health/ready", method: .get) { response in #expect(response.status != .unauthorized) }
        }
    }

    @Test("settings: a short secret, an unknown AUTH value and an unknown scope are refused by name; no secret means not configured")
    func settings() throws {
        #expect(throws: ServiceKitError.self) { try Scope.parseList("orders:write orders:delete") }
        #expect(try Scope.parseList("orders:write, profiles:read orders:write") == [.ordersWrite, .profilesRead])
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
