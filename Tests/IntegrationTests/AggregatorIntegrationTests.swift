import AsyncHTTPClient
import DevTools
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOCore
import Testing
import MessagingTesting

/// The aggregator in `ensemble up`, over the real broker, through its HTTP API.
@Suite("Aggregator over a real broker", .serialized)
struct AggregatorIntegrationTests {
    /// The stack with the payment service's live endpoint pointing at a closed port (as if
    /// payment were stopped), and a low read limit for the throttling test.
    static func stack() throws -> StackProcess {
        try StackProcess(environment: [
            "AGGREGATOR_PAYMENT_URL": "http://127.0.0.1:\(try EmbeddedBroker.freePort())",
            "AGGREGATOR_READ_RATE": "20",
            "AGGREGATOR_LIVE_TIMEOUT_MS": "1000",
        ])
    }

    @Test("profiles, conflicts, live with a source down, read-your-writes, push, throttling and rebuild")
    func aggregator() async throws {
        _ = try TestBroker.servers
        let stack = try Self.stack()
        defer { stack.stop() }
        try await stack.start()

        // The README's demo orders: bob premium over 100 (free priority shipping), alice with
        // a billing phone that differs from her profile's, mallory blocked.
        let bobOrder = try await stack.placeDemoOrder(customer: "bob", sku: "SKU-COFFEE", quantity: 10)
        let aliceOrder = try await stack.placeDemoOrder(customer: "alice", sku: "SKU-MUG", quantity: 1, billingPhone: "+1 555 0199")
        let malloryOrder = try await stack.placeDemoOrder(customer: "mallory", sku: "SKU-MUG", quantity: 1)
        for id in [bobOrder, aliceOrder, malloryOrder] {
            try await eventually("order \(id) to end", timeout: .seconds(30)) { try await stack.orderStatus(id).map { $0 != "running" } ?? false }
        }

        // Bob: contact from profile with provenance, his order completed, money captured, the priority shipment.
        let bob = try await eventuallyValue("bob's completed order in his profile") {
            let profile = try await stack.aggregatorProfile("bob", client: "tests")
            let orders = profile["orders"] as? [[String: Any]] ?? []
            return orders.contains { $0["orderId"] as? String == bobOrder && $0["status"] as? String == "completed" } ? profile : nil
        }
        let contact = try #require(bob["contact"] as? [String: [String: Any]])
        #expect(contact["name"]?["value"] as? String == "Bob Example")
        for field in ["name", "email", "phone"] {
            let source = try #require(contact[field]?["source"] as? [String: Any], "\(field) has provenance")
            #expect(source["source"] as? String == "profile")
            #expect(source["topic"] as? String == "profile.events" && source["offset"] != nil && source["messageId"] != nil && source["occurredAt"] != nil)
        }
        #expect((bob["money"] as? [String: Any])?["captured"] as? String == "125.00")
        let shipment = try #require((bob["shipments"] as? [[String: Any]])?.first { $0["orderId"] as? String == bobOrder })
        #expect(shipment["priority"] as? Bool == true && shipment["carrier"] as? String == "SwiftExpress")

        // Alice: the profile's phone wins, and the conflict names both values.
        let alice = try await eventuallyValue("alice's conflict") {
            let profile = try await stack.aggregatorProfile("alice", client: "tests")
            return (profile["conflicts"] as? [[String: Any]])?.contains { $0["field"] as? String == "phone" } == true ? profile : nil
        }
        #expect(((alice["contact"] as? [String: Any])?["phone"] as? [String: Any])?["value"] as? String == "+1 555 0100")
        let conflict = try #require((alice["conflicts"] as? [[String: Any]])?.first { $0["field"] as? String == "phone" })
        #expect(Set((conflict["candidates"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String }) == ["+1 555 0100", "+1 555 0199"])
        #expect(conflict["winner"] as? String == "profile")

        // Live: payment does not answer; 200, incomplete, payment failed, the others' data there.
        let (liveStatus, liveData) = try await stack.get("aggregator", "/profiles/bob?mode=live", headers: ["X-Client-Id": "tests"])
        #expect(liveStatus == 200)
        let live = try #require(try JSONSerialization.jsonObject(with: liveData) as? [String: Any])
        #expect(live["complete"] as? Bool == false)
        let sources = try #require(live["sources"] as? [String: [String: Any]])
        #expect(["timeout", "error"].contains(sources["payment"]?["status"] as? String))
        #expect(sources["profile"]?["status"] as? String == "ok")
        #expect((((live["profile"] as? [String: Any])?["contact"] as? [String: Any])?["name"] as? [String: Any])?["value"] as? String == "Bob Example")
        let (required, _) = try await stack.get("aggregator", "/profiles/bob?require=payment", headers: ["X-Client-Id": "tests"])
        #expect(required == 503, "a required source that fails refuses the answer")

        // Read your own writes: the token of an order placed a moment ago.
        let (placedStatus, placedData) = try await stack.post("orchestrator", "/orders", json: StackProcess.orderBody(customer: "bob", sku: "SKU-MUG", quantity: 2))
        #expect(placedStatus == 202)
        let placed = try #require(try JSONSerialization.jsonObject(with: placedData) as? [String: Any])
        let newOrder = try #require(placed["orderId"] as? String)
        let token = try #require(placed["consistencyToken"] as? String)
        let (afterStatus, afterData) = try await stack.get("aggregator", "/profiles/bob?after=\(token)&fields=orders", headers: ["X-Client-Id": "tests"])
        #expect(afterStatus == 200)
        let after = try #require(try JSONSerialization.jsonObject(with: afterData) as? [String: Any])
        #expect(((after["profile"] as? [String: Any])?["orders"] as? [[String: Any]])?.contains { $0["orderId"] as? String == newOrder } == true)

        // Push: an SSE client gets bob's profile within a second of his next order completing.
        let received = Locked<[String]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await stack.readEvents("aggregator", "/profiles/bob/stream", into: received) }
            try await eventually("the stream's first event (the current profile)") { !received.withLock { $0 }.isEmpty }
            let pushed = try await stack.placeDemoOrder(customer: "bob", sku: "SKU-COFFEE", quantity: 1)
            try await eventually("the order to complete") { try await stack.orderStatus(pushed) == "completed" }
            let completedAt = ContinuousClock.now
            try await eventually("a pushed profile with the order completed", timeout: .seconds(1)) {
                received.withLock { $0 }.contains { document in
                    let profile = (try? JSONSerialization.jsonObject(with: Data(document.utf8))) as? [String: Any]
                    return (profile?["orders"] as? [[String: Any]])?.contains { $0["orderId"] as? String == pushed && $0["status"] as? String == "completed" } == true
                }
            }
            #expect(ContinuousClock.now - completedAt < .seconds(1))
            group.cancelAll()
        }

        // Throttling: one client over its 20 reads per second gets 429 with Retry-After.
        // The reads go out at once: sent one after another on a loaded machine, they could
        // be slower than the bucket refills.
        let answers = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for _ in 0..<60 {
                group.addTask {
                    let (status, headers) = try await stack.getHeaders("aggregator", "/profiles/bob?fields=tier", headers: ["X-Client-Id": "greedy"])
                    return (status, headers["Retry-After"])
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let refused = answers.first { $0.0 == 429 }
        #expect(refused?.0 == 429)
        #expect(refused?.1.flatMap(Int.init).map { $0 >= 1 } == true)

        // Rebuild: replay everything into fresh tables; every profile the same, byte for byte.
        let before = try await stack.profileDocuments()
        #expect(before.count >= 3)
        let (started, _) = try await stack.post("aggregator", "/admin/rebuild", json: "{}")
        #expect(started == 202)
        try await eventually("the rebuild to finish", timeout: .seconds(60)) {
            let progress = try await stack.json("aggregator", "/admin/rebuild") as? [String: Any]
            if progress?["state"] as? String == "failed" { throw HTTPFailure(status: 500, body: "\(progress ?? [:])") }
            return progress?["state"] as? String == "done"
        }
        let rebuilt = try await stack.profileDocuments()
        #expect(rebuilt == before, "the rebuilt profiles equal the incrementally built ones")
    }
}

/// Polls `produce` until it returns a value; throws after `timeout`.
func eventuallyValue<T>(_ what: String, timeout: Duration = .seconds(30), _ produce: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await produce() { return value }
        guard ContinuousClock.now < deadline else { throw TimedOut(what: what, timeout: timeout) }
        try await Task.sleep(for: .milliseconds(50))
    }
}

extension StackProcess {
    static func orderBody(customer: String, sku: String, quantity: Int, billingPhone: String? = nil) -> String {
        """
        {"customerId": "\(customer)", "items": [{"sku": "\(sku)", "quantity": \(quantity), "unitPrice": "\(sku == "SKU-COFFEE" ? "12.50" : "7.50")"}],
         "payment": {"card": "4111111111111111"\(billingPhone.map { ", \"billingPhone\": \"\($0)\"" } ?? "")},
         "shipTo": {"name": "Test", "line1": "1 Test St", "city": "Testville", "postalCode": "12345", "country": "US"}}
        """
    }

    /// Places an order at the demo prices (12.50 a coffee, 7.50 a mug).
    func placeDemoOrder(customer: String, sku: String, quantity: Int, billingPhone: String? = nil) async throws -> String {
        let (status, data) = try await post("orchestrator", "/orders", json: Self.orderBody(customer: customer, sku: sku, quantity: quantity, billingPhone: billingPhone))
        guard status == 202, let id = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["orderId"] as? String else {
            throw HTTPFailure(status: status, body: String(decoding: data, as: UTF8.self))
        }
        return id
    }

    func get(_ service: String, _ path: String, headers: [String: String]) async throws -> (Int, Data) {
        var request = try await authorized(url(service, path))
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await Self.session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    func getHeaders(_ service: String, _ path: String, headers: [String: String]) async throws -> (Int, [String: String]) {
        var request = try await authorized(url(service, path))
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (_, response) = try await Self.session.data(for: request)
        let http = response as? HTTPURLResponse
        var result: [String: String] = [:]
        for (key, value) in http?.allHeaderFields ?? [:] { result["\(key)"] = "\(value)" }
        return (http?.statusCode ?? 0, result)
    }

    /// A profile from the aggregator (projection mode).
    func aggregatorProfile(_ customer: String, client: String) async throws -> [String: Any] {
        let (status, data) = try await get("aggregator", "/profiles/\(customer)", headers: ["X-Client-Id": client])
        guard status == 200, let body = try JSONSerialization.jsonObject(with: data) as? [String: Any], let profile = body["profile"] as? [String: Any] else {
            throw HTTPFailure(status: status, body: String(decoding: data, as: UTF8.self))
        }
        return profile
    }

    /// Every profile's JSON, re-encoded with sorted keys, by customer.
    func profileDocuments() async throws -> [String: String] {
        let (status, data) = try await get("aggregator", "/profiles?limit=500", headers: ["X-Client-Id": "rebuild-check"])
        guard status == 200, let page = try JSONSerialization.jsonObject(with: data) as? [String: Any], let profiles = page["profiles"] as? [[String: Any]] else {
            throw HTTPFailure(status: status, body: String(decoding: data, as: UTF8.self))
        }
        var result: [String: String] = [:]
        for profile in profiles {
            let text = String(decoding: try JSONSerialization.data(withJSONObject: profile, options: [.sortedKeys]), as: UTF8.self)
            result[profile["customerId"] as? String ?? "?"] = text
        }
        return result
    }

    /// Reads a Server-Sent Events stream, appending each event's data, until cancelled.
    func readEvents(_ service: String, _ path: String, into received: Locked<[String]>) async throws {
        var request = HTTPClientRequest(url: url(service, path).absoluteString)
        if let header = try await authorized(url(service, path)).value(forHTTPHeaderField: "Authorization") {
            request.headers.add(name: "Authorization", value: header)
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        var pending = ""
        for try await chunk in response.body {
            pending += String(buffer: chunk)
            while let range = pending.range(of: "\n\n") {
                let event = String(pending[..<range.lowerBound])
                pending.removeSubrange(..<range.upperBound)
                if let data = event.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }) {
                    received.withLock { $0.append(String(data.dropFirst(6))) }
                }
            }
        }
    }
}
