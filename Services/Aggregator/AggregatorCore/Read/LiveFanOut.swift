import AsyncHTTPClient
import Contracts
import Foundation
import Messaging
import NIOCore
import ServiceKit
import Synchronization

/// A profile answered by asking the services themselves, in parallel: the profile
/// service, the orchestrator's orders, payment, and shipping (for the orders found). Each
/// source has a timeout and a circuit breaker, and all live reads share a concurrency
/// limit; a source that fails leaves its part empty and the answer marked incomplete.
/// Answers are cached for `ttl` and served stale for `staleWhileRevalidate` more while a
/// fresh one is fetched in the background.
public final class LiveFanOut: Sendable {
    /// The services' base URLs.
    public struct Sources: Sendable {
        public var profile: String
        public var orchestrator: String
        public var payment: String
        public var shipping: String

        public init(profile: String, orchestrator: String, payment: String, shipping: String) {
            self.profile = profile
            self.orchestrator = orchestrator
            self.payment = payment
            self.shipping = shipping
        }
    }

    /// What happened with one source.
    struct SourceStatus: Sendable, Hashable, Codable {
        /// `ok`, `timeout`, `error` or `circuit-open`.
        var status: String
        var latencyMilliseconds: Double
        var error: String?
    }

    struct Result: Sendable {
        var profile: CustomerProfile?
        var sources: [String: SourceStatus]
        var complete: Bool { sources.values.allSatisfy { $0.status == "ok" } }
        var fetchedAt: ContinuousClock.Instant
    }

    let sources: Sources
    let timeout: Duration
    let maxInFlight: Int
    let ttl: Duration
    let staleWhileRevalidate: Duration
    private let client: HTTPClient
    /// The aggregator's own token for the services' APIs (nil when authentication is off).
    private let credentials: ServiceToken?
    private let inFlight = Mutex(0)
    private let breakers = Mutex<[String: (failures: Int, openUntil: ContinuousClock.Instant?)]>([:])
    private let cache = Mutex<[String: Result]>([:])
    /// Customers being fetched now, with the readers waiting for that fetch (single flight:
    /// a burst of reads for one customer costs one fan-out).
    private let fetching = Mutex<[String: [CheckedContinuation<Result, Never>]]>([:])
    /// Customers queued for a background refresh (each once).
    private let refreshing = Mutex<Set<String>>([])
    private let refreshes: AsyncStream<String>.Continuation
    let pendingRefreshes: AsyncStream<String>

    init(sources: Sources, timeout: Duration = .milliseconds(500), maxInFlight: Int = 64, ttl: Duration = .seconds(1),
         staleWhileRevalidate: Duration = .seconds(5), client: HTTPClient = .shared, credentials: ServiceToken? = nil) {
        self.credentials = credentials
        self.sources = sources
        self.timeout = timeout
        self.maxInFlight = maxInFlight
        self.ttl = ttl
        self.staleWhileRevalidate = staleWhileRevalidate
        self.client = client
        (pendingRefreshes, refreshes) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(256))
    }

    /// The live profile: from the cache when fresh enough, else fetched now.
    func profile(_ customer: String) async -> (result: Result, cacheAge: Duration?) {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[customer] }) {
            let age = now - cached.fetchedAt
            if age < ttl { return (cached, age) }
            if age < ttl + staleWhileRevalidate {
                if refreshing.withLock({ $0.insert(customer).inserted }) { refreshes.yield(customer) }
                return (cached, age)
            }
        }
        return (await fetchOnce(customer), nil)
    }

    /// Fetches `customer` again and caches it (the background refresher calls this).
    func refresh(_ customer: String) async {
        _ = await fetchOnce(customer)
        refreshing.withLock { _ = $0.remove(customer) }
    }

    /// One fetch per customer at a time: whoever comes while it runs waits for its result.
    private func fetchOnce(_ customer: String) async -> Result {
        let leader = fetching.withLock { all -> Bool in
            if all[customer] != nil { return false }
            all[customer] = []
            return true
        }
        guard leader else {
            return await withCheckedContinuation { continuation in
                let late = fetching.withLock { all -> Bool in
                    guard all[customer] != nil else { return true }
                    all[customer]!.append(continuation)
                    return false
                }
                // The fetch finished in between: take what the cache holds now.
                if late { continuation.resume(returning: cache.withLock { $0[customer] } ?? Result(profile: nil, sources: [:], fetchedAt: .now)) }
            }
        }
        let result = await fetch(customer)
        cache.withLock { $0[customer] = result }
        let waiters = fetching.withLock { $0.removeValue(forKey: customer) } ?? []
        for waiter in waiters { waiter.resume(returning: result) }
        return result
    }

    // MARK: - Fetching

    private struct OrderPage: Decodable {
        struct Summary: Decodable {
            var orderId: String
            var status: String
            var total: Money?
            var createdAt: Date
            var finishedAt: Date?
        }
        var orders: [Summary]
    }

    private struct PaymentView: Decodable {
        struct Payment: Decodable {
            var orderId: String
            var status: String
            var processor: String?
        }
        struct Entry: Decodable {
            var entry: String
            var amount: Money
        }
        var payment: Payment
        var ledger: [Entry]
    }

    private struct Shipment: Decodable {
        var orderId: String
        var carrier: String
        var trackingNumber: String
        var fee: Money
        var priority: Bool
        var status: String
    }

    static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    func fetch(_ customer: String) async -> Result {
        // Only unreserved characters pass as they are: the id goes into a path and into queries.
        let id = customer.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? customer
        async let profileCall = get("profile", "\(sources.profile)/customers/\(id)", as: Customer.self)
        async let ordersCall = get("orchestrator", "\(sources.orchestrator)/orders?customer=\(id)&limit=100", as: OrderPage.self)
        async let paymentsCall = get("payment", "\(sources.payment)/payments?customerId=\(id)", as: [PaymentView].self)
        let (customerData, profileStatus) = await profileCall
        let (orderPage, ordersStatus) = await ordersCall
        let (payments, paymentStatus) = await paymentsCall

        // Shipments need the order ids: a second, parallel wave for the newest orders.
        let orderIDs = Array((orderPage?.orders ?? []).prefix(10).map(\.orderId))
        var shipments: [Shipment] = []
        var shippingStatus = SourceStatus(status: "ok", latencyMilliseconds: 0)
        if !orderIDs.isEmpty {
            let started = ContinuousClock.now
            let results = await withTaskGroup(of: ([Shipment]?, SourceStatus).self) { group in
                for order in orderIDs {
                    group.addTask { await self.get("shipping", "\(self.sources.shipping)/shipments?orderId=\(order)", as: [Shipment].self) }
                }
                var all: [([Shipment]?, SourceStatus)] = []
                for await result in group { all.append(result) }
                return all
            }
            shipments = results.compactMap(\.0).flatMap { $0 }.sorted { $0.orderId < $1.orderId }
            let failed = results.map(\.1).first { $0.status != "ok" }
            shippingStatus = failed ?? SourceStatus(status: "ok", latencyMilliseconds: Self.milliseconds(ContinuousClock.now - started))
        }

        let now = Date()
        func provenance(_ source: String, _ path: String) -> Provenance {
            Provenance(source: "live:\(source)", messageType: "GET \(path)", messageId: "", topic: nil, partition: nil, offset: nil, occurredAt: now)
        }
        var profile: CustomerProfile?
        if customerData != nil || !(orderPage?.orders ?? []).isEmpty || !(payments ?? []).isEmpty {
            let fromProfile = provenance("profile", "/customers/\(customer)")
            var money = (authorized: Int64(0), captured: Int64(0), voided: Int64(0), refunded: Int64(0))
            for entry in (payments ?? []).flatMap(\.ledger) {
                switch entry.entry {
                case "authorize": money.authorized += entry.amount.minorUnits
                case "capture": money.captured += entry.amount.minorUnits
                case "void": money.voided += entry.amount.minorUnits
                case "refund": money.refunded += entry.amount.minorUnits
                default: break
                }
            }
            let orders = (orderPage?.orders ?? []).map { CustomerProfile.OrderEntry(orderId: $0.orderId, status: $0.status, total: $0.total, placedAt: $0.createdAt, finishedAt: $0.finishedAt, mode: nil) }
            var counts: [String: Int] = [:]
            for order in orders { counts[order.status, default: 0] += 1 }
            var addresses: [CustomerProfile.KnownAddress] = []
            if let shipping = customerData?.shippingAddress { addresses.append(.init(kind: "shipping", address: shipping, orderId: nil, source: fromProfile)) }
            if let billing = customerData?.billingAddress { addresses.append(.init(kind: "billing", address: billing, orderId: nil, source: fromProfile)) }
            profile = CustomerProfile(
                customerId: customer,
                contact: .init(
                    name: customerData.map { Sourced(value: $0.name, source: fromProfile) },
                    email: customerData.map { Sourced(value: $0.email, source: fromProfile) },
                    phone: customerData?.phone.map { Sourced(value: $0, source: fromProfile) }
                ),
                tier: customerData.map { Sourced(value: $0.tier.rawValue, source: fromProfile) },
                blocked: customerData.map { Sourced(value: $0.blocked, source: fromProfile) },
                shippingAddress: customerData?.shippingAddress.map { Sourced(value: $0, source: fromProfile) },
                addresses: addresses,
                billing: (payments ?? []).map { .init(orderId: $0.payment.orderId, cardBrand: nil, cardLast4: nil, billingName: nil, billingPhone: nil, processor: $0.payment.processor, at: nil) },
                orders: orders,
                money: .init(
                    authorized: Money(minorUnits: money.authorized), captured: Money(minorUnits: money.captured),
                    voided: Money(minorUnits: money.voided), refunded: Money(minorUnits: money.refunded),
                    lifetimeValue: Money(minorUnits: money.captured - money.refunded)
                ),
                shipments: shipments.map { .init(orderId: $0.orderId, carrier: $0.carrier, trackingNumber: $0.trackingNumber, priority: $0.priority, fee: $0.fee, status: $0.status) },
                orderCounts: counts,
                conflicts: [],
                lastEventAt: nil
            )
        }
        return Result(
            profile: profile,
            sources: ["profile": profileStatus, "orchestrator": ordersStatus, "payment": paymentStatus, "shipping": shippingStatus],
            fetchedAt: .now
        )
    }

    /// GETs `url` as `T`: nil with status `ok` for a 404, and a status saying what failed otherwise.
    private func get<T: Decodable>(_ source: String, _ url: String, as type: T.Type) async -> (T?, SourceStatus) {
        let started = ContinuousClock.now
        func status(_ name: String, _ error: String? = nil) -> SourceStatus {
            SourceStatus(status: name, latencyMilliseconds: Self.milliseconds(ContinuousClock.now - started), error: error)
        }
        guard allows(source) else { return (nil, status("circuit-open", "the \(source) circuit is open")) }
        let admitted = inFlight.withLock { count in
            guard count < maxInFlight else { return false }
            count += 1
            return true
        }
        guard admitted else { return (nil, status("error", "more than \(maxInFlight) live requests in flight")) }
        defer { inFlight.withLock { $0 -= 1 } }
        do {
            var request = HTTPClientRequest(url: url)
            if let credentials { request.headers.add(name: "Authorization", value: try await credentials.authorization()) }
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(Self.milliseconds(timeout) * 1_000_000)))
            let body = try await response.body.collect(upTo: 4 * 1024 * 1024)
            if response.status == .notFound {
                record(source, success: true)
                return (nil, status("ok"))
            }
            guard (200..<300).contains(response.status.code) else {
                record(source, success: false)
                return (nil, status("error", "HTTP \(response.status.code)"))
            }
            let value = try MessageCoding.decode(T.self, from: Data(buffer: body))
            record(source, success: true)
            return (value, status("ok"))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            record(source, success: false)
            return (nil, status("timeout", "no answer within \(timeout)"))
        } catch {
            record(source, success: false)
            return (nil, status("error", "\(error)"))
        }
    }

    private func allows(_ source: String) -> Bool {
        breakers.withLock { all in
            guard let openUntil = all[source]?.openUntil else { return true }
            if ContinuousClock.now >= openUntil {
                all[source]?.openUntil = nil // half-open: this request is the trial
                return true
            }
            return false
        }
    }

    private func record(_ source: String, success: Bool) {
        breakers.withLock { all in
            var breaker = all[source] ?? (0, nil)
            breaker.failures = success ? 0 : breaker.failures + 1
            if breaker.failures >= 3 { breaker.openUntil = .now + .seconds(5) }
            all[source] = breaker
        }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
