import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import Messaging
import NIOCore
import ServiceKit
import Storage

/// The aggregator's HTTP API (port 8081); its OpenAPI document is `AggregatorOpenAPI`.
struct AggregatorAPI: Sendable {
    let store: ProjectionStore
    let freshness: FreshnessTracker
    let live: LiveFanOut
    let stream: ProfileStream
    let rebuilder: Rebuilder
    let lag: LagRecorder
    let rules: MergeRules
    let consistencyWait: Duration

    /// `GET /profiles/{id}`: the profile, how it was answered, and how fresh it is.
    struct ProfileResponse: Encodable {
        /// `projection` or `live`.
        var mode: String
        /// False when a live source failed: the profile lacks that source's part.
        var complete: Bool
        var profile: JSONValue
        var freshness: Freshness?
        var sources: [String: LiveFanOut.SourceStatus]?
        var cacheAgeMilliseconds: Double?
    }

    func addRoutes(to routes: ServiceRoutes, throttle: ReadThrottle<BasicRequestContext>.Buckets) {
        routes.router.add(middleware: ReadThrottle(buckets: throttle))
        routes.get("profiles/:id", scope: .profilesRead) { request, context -> Response in
            try await profile(try context.parameters.decoded("id"), request: request)
        }
        routes.get("profiles", scope: .profilesRead) { request, _ -> Response in
            let query = request.uri.queryParameters
            let limit = try Self.integer(query["limit"].map(String.init), name: "limit", default: 50, range: 1...500)
            let offset = try Self.integer(query["offset"].map(String.init), name: "offset", default: 0, range: 0...1_000_000_000)
            let tier = query["tier"].map(String.init)
            if let tier, CustomerTier(rawValue: tier) == nil {
                throw APIError.badRequest("tier must be one of \(CustomerTier.allCases.map(\.rawValue).joined(separator: ", "))", code: "invalid-parameter")
            }
            let profiles = try await store.profiles(tier: tier, limit: limit, offset: offset)
            struct Page: Encodable {
                var profiles: [CustomerProfile]
                var limit: Int
                var offset: Int
                var nextOffset: Int?
                var freshness: Freshness
            }
            let page = Page(profiles: profiles, limit: limit, offset: offset, nextOffset: profiles.count == limit ? offset + limit : nil,
                            freshness: try await freshness.report(store: store, now: Date()))
            return try ServiceHTTPServer.jsonResponse(.ok, page)
        }
        routes.get("profiles/:id/stream", scope: .profilesRead) { _, context -> Response in
            let id = try context.parameters.decoded("id")
            let initial = try await store.profileJSON(id)
            let (token, updates) = stream.subscribe(id)
            let stream = self.stream
            let body = ResponseBody { writer in
                do {
                    if let initial { try await writer.write(ByteBuffer(string: "event: profile\ndata: \(initial)\n\n")) }
                    for await document in updates {
                        try await writer.write(ByteBuffer(string: "event: profile\ndata: \(document)\n\n"))
                    }
                } catch {
                    stream.cancel(id, token)
                    throw error
                }
                stream.cancel(id, token)
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
        }
        routes.get("orders/:id/view", scope: .ordersRead) { _, context -> Response in
            let id = try context.parameters.decoded("id")
            guard let view = try await store.orderView(id) else { throw APIError.notFound("no event about order '\(id)' has been seen") }
            return try ServiceHTTPServer.jsonResponse(.ok, view)
        }
        routes.get("products/:sku", scope: .inventoryRead) { _, context -> Response in
            let sku = try context.parameters.decoded("sku")
            guard let product = try await store.product(sku) else { throw APIError.notFound("no event about SKU '\(sku)' has been seen") }
            return try ServiceHTTPServer.jsonResponse(.ok, product)
        }
        routes.get("dashboard", scope: .ordersRead) { _, _ -> Response in
            try ServiceHTTPServer.jsonResponse(.ok, try await store.dashboard(now: Date()))
        }
        routes.get("rules", scope: .profilesRead) { _, _ -> Response in
            try ServiceHTTPServer.jsonResponse(.ok, rules)
        }
        routes.post("admin/rebuild", scope: .admin) { _, _ -> Response in
            guard rebuilder.start() else {
                throw APIError(.conflict, code: "rebuild-running", message: "a rebuild is already running; GET /admin/rebuild shows its progress")
            }
            return try ServiceHTTPServer.jsonResponse(.accepted, rebuilder.current)
        }
        routes.get("admin/rebuild", scope: .admin) { _, _ -> Response in
            try ServiceHTTPServer.jsonResponse(.ok, rebuilder.current)
        }
        routes.get("admin/lag", scope: .admin) { _, _ -> Response in
            try ServiceHTTPServer.jsonResponse(.ok, lag.summary)
        }
        routes.post("admin/lag/reset", scope: .admin) { _, _ -> Response in
            lag.reset()
            return Response(status: .noContent)
        }
        routes.serve(AggregatorOpenAPI.document)
    }

    private func profile(_ id: String, request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let fields = query["fields"].map { $0.split(separator: ",").map(String.init) }
        if let fields, let unknown = fields.first(where: { !Self.profileFields.contains($0) }) {
            throw APIError.badRequest("fields: '\(unknown)' is not a profile field (\(Self.profileFields.sorted().joined(separator: ", ")))", code: "invalid-parameter")
        }
        let modeText = query["mode"].map(String.init) ?? "projection"
        guard modeText == "projection" || modeText == "live" else {
            throw APIError.badRequest("mode must be projection or live", code: "invalid-parameter")
        }
        let required = query["require"].map { $0.split(separator: ",").map(String.init) } ?? []
        if let source = required.first(where: { !["profile", "orchestrator", "payment", "shipping"].contains($0) }) {
            throw APIError.badRequest("require: '\(source)' is not a source (profile, orchestrator, payment, shipping)", code: "invalid-parameter")
        }
        if let tokenText = query["after"].map(String.init) {
            guard let token = ConsistencyToken(text: tokenText) else { throw APIError.badRequest("after is not a consistency token", code: "invalid-parameter") }
            try await waitFor(token)
        }
        var useLive = modeText == "live" || !required.isEmpty
        let report = try await freshness.report(store: store, now: Date())
        if let text = query["maxStaleness"].map(String.init) {
            guard let limit = Self.milliseconds(text) else {
                throw APIError.badRequest("maxStaleness must be a duration such as 250ms or 2s", code: "invalid-parameter")
            }
            if report.stalenessMilliseconds > limit { useLive = true }
        }

        if useLive {
            let (result, age) = await live.profile(id)
            let missing = required.filter { result.sources[$0]?.status != "ok" }
            if !missing.isEmpty {
                throw APIError(.serviceUnavailable, code: "source-unavailable", message: "required sources did not answer: \(missing.joined(separator: ", "))")
            }
            guard let profile = result.profile else {
                if !result.complete {
                    let failed = result.sources.filter { $0.value.status != "ok" }.keys.sorted()
                    throw APIError(.serviceUnavailable, code: "sources-unavailable", message: "no data: these sources did not answer: \(failed.joined(separator: ", "))")
                }
                throw APIError.notFound("customer '\(id)' is not known to any service")
            }
            let body = ProfileResponse(
                mode: "live", complete: result.complete, profile: try Self.select(fields, from: profile), freshness: nil,
                sources: result.sources, cacheAgeMilliseconds: age.map(LiveFanOut.milliseconds)
            )
            var response = try ServiceHTTPServer.jsonResponse(.ok, body)
            response.headers[.age] = String(Int((age.map(LiveFanOut.milliseconds) ?? 0) / 1000))
            return response
        }

        guard let document = try await store.profileJSON(id) else { throw APIError.notFound("customer '\(id)' is not known") }
        var response: Response
        if let fields {
            let profile = try MessageCoding.decode(CustomerProfile.self, from: Data(document.utf8))
            response = try ServiceHTTPServer.jsonResponse(.ok, ProfileResponse(mode: "projection", complete: true, profile: try Self.select(fields, from: profile), freshness: report))
        } else {
            // The stored document as it is: no decoding and encoding on the hot path.
            let freshnessJSON = String(decoding: try MessageCoding.encode(report), as: UTF8.self)
            var buffer = ByteBuffer()
            buffer.writeString(#"{"complete":true,"freshness":"#)
            buffer.writeString(freshnessJSON)
            buffer.writeString(#","mode":"projection","profile":"#)
            buffer.writeString(document)
            buffer.writeString("}")
            response = Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
        }
        response.headers[.age] = String(Int(report.asOf.map { max(0, Date().timeIntervalSince($0)) } ?? 0))
        return response
    }

    /// Waits until the projection has applied what `token` names, or answers 503.
    private func waitFor(_ token: ConsistencyToken) async throws {
        let deadline = ContinuousClock.now + consistencyWait
        while try await !store.hasApplied(order: token.orderID, finished: token.stage == .finished) {
            guard ContinuousClock.now < deadline else {
                throw APIError(.serviceUnavailable, code: "not-yet-consistent",
                               message: "the projection has not applied order \(token.orderID) (\(token.stage.rawValue)) within \(consistencyWait); try again")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    static let profileFields: Set<String> = [
        "customerId", "contact", "tier", "blocked", "shippingAddress", "addresses", "billing", "orders", "money", "shipments", "orderCounts", "conflicts", "lastEventAt",
    ]

    /// The profile as JSON, reduced to `fields` (and the customer id) when given.
    static func select(_ fields: [String]?, from profile: CustomerProfile) throws -> JSONValue {
        let value = try JSONValue(encoding: profile)
        guard let fields, case .object(let all) = value else { return value }
        return .object(all.filter { fields.contains($0.key) || $0.key == "customerId" })
    }

    /// `250ms`, `2s`, or a bare number of milliseconds.
    /// `250ms`, `2s`, `1.5s` or `250` (milliseconds); nil for anything else (the
    /// document's pattern `^[0-9]{1,9}(\.[0-9]{1,3})?(ms|s)?$`).
    static func milliseconds(_ text: String) -> Double? {
        var number = Substring(text)
        var scale = 1.0
        if number.hasSuffix("ms") {
            number = number.dropLast(2)
        } else if number.hasSuffix("s") {
            number = number.dropLast()
            scale = 1000
        }
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, (1...9).contains(whole.count), TextRule.isDigits(String(whole)) else { return nil }
        if parts.count == 2, !(1...3).contains(parts[1].count) || !TextRule.isDigits(String(parts[1])) { return nil }
        return Double(number).map { $0 * scale }
    }

    static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badRequest("\(name) must be a number in \(range.lowerBound)...\(range.upperBound == Int.max ? "" : String(range.upperBound))", code: "invalid-parameter")
        }
        return number
    }
}
