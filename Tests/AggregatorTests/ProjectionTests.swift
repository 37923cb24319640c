@testable import AggregatorCore
import Contracts
import Foundation
import Hummingbird
import Logging
import MessagingTesting
import ServiceKit
import Yams
import Messaging
import Storage
import StorageTesting
import Testing

/// Events as the services publish them, with the topic positions a consumer would see.
struct EventLog {
    private(set) var envelopes: [Envelope] = []
    private var offsets: [String: Int64] = [:]
    var clock = Date(timeIntervalSince1970: 1_800_000_000)

    mutating func add<E: Event>(_ event: E, correlation: String, partition: Int32 = 0) throws {
        clock = clock.addingTimeInterval(0.01)
        var envelope = try Envelope(event, correlationID: correlation, messageID: UUID(), occurredAt: clock)
        let topic = TopicCatalog.events(E.source)
        let offset = offsets["\(topic)/\(partition)", default: 0]
        offsets["\(topic)/\(partition)"] = offset + 1
        envelope.origin = .init(topic: topic, partition: partition, offset: offset)
        envelopes.append(envelope)
    }

    /// The events in another order: each topic's partition keeps its order (as Kafka
    /// does), the partitions mix.
    func interleaved(using generator: inout SeededGenerator) -> [Envelope] {
        var queues = Dictionary(grouping: envelopes) { "\($0.origin!.topic)/\($0.origin!.partition)" }
        var mixed: [Envelope] = []
        while !queues.isEmpty {
            let key = queues.keys.sorted().randomElement(using: &generator)!
            mixed.append(queues[key]!.removeFirst())
            if queues[key]!.isEmpty { queues[key] = nil }
        }
        return mixed
    }
}

func freshStore(rules: MergeRules = .standard) async throws -> ProjectionStore {
    var logger = Logger(label: "test")
    logger.logLevel = .error
    let database = try await TestDatabase.open("aggregator", logger: logger)
    try await Migrator.migrate(database, ProjectionTables.migrations, logger: logger)
    return ProjectionStore(database: database, rules: rules)
}

/// Bob's demo order, as every service tells it, with a billing phone that differs from his profile's.
func bobsOrder() throws -> EventLog {
    var log = EventLog()
    let bob = Customer(id: "bob", name: "Bob Example", email: "bob@example.com", phone: "+1 555 0101",
                       shippingAddress: Address(name: "Bob Example", line1: "2 Oak Ave", city: "Springfield", postalCode: "12345", country: "US"),
                       tier: .premium)
    let shipTo = Address(name: "Bob at work", line1: "9 Dock Rd", city: "Springfield", postalCode: "12345", country: "US")
    try log.add(CustomerRegistered(customer: bob), correlation: "bob", partition: 3)
    try log.add(OrderPlaced(orderID: "o1", customerID: "bob", lines: [OrderLine(sku: "SKU-COFFEE", quantity: 10, unitPrice: Money("12.50")!)], shipTo: shipTo), correlation: "o1", partition: 1)
    try log.add(StockReserved(orderID: "o1"), correlation: "o1", partition: 1)
    try log.add(PaymentAuthorized(orderID: "o1", authorizationID: "A1", amount: Money("125.00")!, processor: .primary, customerID: "bob",
                                  card: MaskedCard(number: "4111111111111111"), billingName: "Robert Example", billingPhone: "+1 555 9999"), correlation: "o1", partition: 1)
    try log.add(ShipmentScheduled(orderID: "o1", carrier: "SwiftExpress", trackingNumber: "SE123", labelReference: "L", fee: .zero, priority: true), correlation: "o1", partition: 1)
    try log.add(PaymentCaptured(orderID: "o1", amount: Money("125.00")!), correlation: "o1", partition: 1)
    try log.add(StockCommitted(orderID: "o1", lines: [StockQuantity(sku: "SKU-COFFEE", quantity: 10)]), correlation: "o1", partition: 1)
    try log.add(OrderCompleted(orderID: "o1", customerID: "bob", total: Money("125.00")!), correlation: "o1", partition: 1)
    return log
}

@Suite("Aggregator projections")
struct ProjectionTests {
    @Test("a profile merges every service's events, with provenance, the rules' winner and the conflict")
    func merged() async throws {
        let store = try await freshStore()
        for envelope in try bobsOrder().envelopes { try await store.apply(envelope) }
        _ = try await store.refreshDirty()
        let profile = try #require(try await store.profile("bob"))
        #expect(profile.contact.name?.value == "Bob Example" && profile.contact.name?.source.source == "profile")
        #expect(profile.contact.phone?.value == "+1 555 0101", "the profile's phone wins over the billing phone")
        #expect(profile.contact.phone?.source.messageType == CustomerRegistered.messageType)
        #expect(profile.contact.phone?.source.topic == "profile.events" && profile.contact.phone?.source.partition == 3 && profile.contact.phone?.source.offset == 0)
        let phone = try #require(profile.conflicts.first { $0.field == "phone" })
        #expect(Set(phone.candidates.map(\.value)) == ["+1 555 0101", "+1 555 9999"] && phone.winner == "profile")
        #expect(profile.orders.map(\.status) == ["completed"])
        #expect(profile.money.captured == Money("125.00")! && profile.money.lifetimeValue == Money("125.00")!)
        #expect(profile.shipments.first?.priority == true && profile.shipments.first?.carrier == "SwiftExpress")
        #expect(profile.billing.first?.cardBrand == "visa" && profile.billing.first?.cardLast4 == "1111")
        #expect(profile.addresses.map(\.kind) == ["shipping", "order"])
        #expect(profile.tier?.value == "premium")
        #expect(profile.orderCounts == ["completed": 1])

        let view = try #require(try await store.orderView("o1"))
        #expect(view.status == "completed")
        #expect(view.timeline.map(\.type).first == OrderPlaced.messageType && view.timeline.count == 7)
        let product = try #require(try await store.product("SKU-COFFEE"))
        #expect(product.committed == 10 && product.revenue == Money("125.00")! && product.reserved == 0)
    }

    @Test("the same events in another order across topics, or delivered twice, give an identical profile", arguments: [1, 2, 3, 4, 5])
    func orderIndependent(seed: Int) async throws {
        let log = try bobsOrder()
        let reference = try await freshStore()
        for envelope in log.envelopes { try await reference.apply(envelope) }
        _ = try await reference.refreshDirty()
        let expected = try #require(try await reference.profileJSON("bob"))

        // Another interleaving: each topic's partition keeps its order (as Kafka does), the topics mix.
        var generator = SeededGenerator(seed: UInt64(seed))
        let mixed = log.interleaved(using: &generator)
        let store = try await freshStore()
        for envelope in mixed { try await store.apply(envelope); _ = try await store.refreshDirty() }
        // And everything once more: redeliveries change nothing.
        for envelope in mixed.shuffled(using: &generator) { try await store.apply(envelope) }
        _ = try await store.refreshDirty()
        #expect(try await store.profileJSON("bob") == expected)
    }

    @Test("in a group commit, positions, freshness and dirty marks are written once at its end: the same tables as one event at a time, redeliveries skipped")
    func groupCommitted() async throws {
        let log = try bobsOrder()
        let reference = try await freshStore()
        for envelope in log.envelopes { try await reference.apply(envelope) }

        let store = try await freshStore()
        let envelopes = log.envelopes
        let (first, rest) = (Array(envelopes.prefix(4)), Array(envelopes.dropFirst(4)))
        // Two batches; the second one also gets two records of the first again (a redelivery).
        for part in [first, Array(first.suffix(2)) + rest + [rest[0]]] {
            try await store.database.batch {
                try await store.collecting {
                    for envelope in part { try await store.apply(envelope) }
                }
            }
        }
        let dirty = try await store.database.read { sql in
            try await sql.raw("SELECT customer_id FROM \(unsafeRaw: ProjectionTables.live.dirty)").all().map { try $0.decode(column: "customer_id", as: String.self) }
        }
        #expect(dirty == ["bob"])
        #expect(try await store.positions() == (try await reference.positions()))
        let sources = try await store.sources().mapValues { "\($0.lastEventAt) \($0.events)" }
        #expect(sources == (try await reference.sources().mapValues { "\($0.lastEventAt) \($0.events)" }))
        _ = try await reference.refreshDirty()
        _ = try await store.refreshDirty()
        #expect(try await store.profileJSON("bob") == (try await reference.profileJSON("bob")))
        #expect(try await store.orderView("o1")?.timeline.count == 7)
    }

    @Test("a provenance's JSON, written by hand, is what StorageJSON.encode writes")
    func provenanceJSON() throws {
        let at = Date(timeIntervalSince1970: 1_800_000_000.125)
        for provenance in [
            Provenance(source: "payment", messageType: "payment.authorized.v1", messageId: "0193f1e2-aaaa-7bbb-8ccc-0123456789ab",
                       topic: "payment.events", partition: 3, offset: 1_234_567_890_123, occurredAt: at),
            Provenance(source: "live:profile", messageType: "a \"quoted\" \\ type\n", messageId: "", topic: nil, partition: nil, offset: nil, occurredAt: Date(timeIntervalSince1970: 0)),
            Provenance(source: "orders", messageType: "order.placed.v1", messageId: "x", topic: "t", partition: -1, offset: 0, occurredAt: at.addingTimeInterval(0.0009)),
        ] {
            #expect(provenance.json == (try StorageJSON.encode(provenance)))
            // It reads back as what it says (timestamps keep milliseconds, as every stored one).
            let read = try MessageCoding.decode(Provenance.self, from: Data(provenance.json.utf8))
            #expect(read.json == provenance.json && read.messageType == provenance.messageType && read.offset == provenance.offset)
        }
    }

    @Test("an event published twice (two offsets) is applied idempotently")
    func republished() async throws {
        let log = try bobsOrder()
        var again = log.envelopes[5] // the capture, published again by a relay after a crash
        again.origin?.offset += 100
        let store = try await freshStore()
        for envelope in log.envelopes + [again] { try await store.apply(envelope) }
        _ = try await store.refreshDirty()
        #expect(try await store.profile("bob")?.money.captured == Money("125.00")!)
    }

    @Test("the rules decide the winner: with payment first, the billing phone wins")
    func rules() async throws {
        var rules = MergeRules.standard
        rules.fields["phone"] = ["payment", "profile"]
        #expect(rules.problems.isEmpty)
        let store = try await freshStore(rules: rules)
        for envelope in try bobsOrder().envelopes { try await store.apply(envelope) }
        _ = try await store.refreshDirty()
        let profile = try #require(try await store.profile("bob"))
        #expect(profile.contact.phone?.value == "+1 555 9999" && profile.contact.phone?.source.source == "payment")
        #expect(profile.conflicts.first { $0.field == "phone" }?.winner == "payment")
    }

    @Test("rules naming an unknown field or a source that cannot provide it are refused, each named")
    func badRules() throws {
        let rules = MergeRules(fields: ["phone": ["shipping"], "shoeSize": ["profile"], "email": []])
        let problems = rules.problems.joined(separator: "\n")
        #expect(problems.contains("unknown field 'shoeSize'"))
        #expect(problems.contains("field 'phone': source 'shipping' cannot provide it"))
        #expect(problems.contains("field 'email' lists no source"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString).json")
        try Data(#"{"fields": {"phone": ["shipping"]}}"#.utf8).write(to: file)
        #expect(throws: AggregatorError.self) { try MergeRules.load(path: file.path) }
    }
}

@Suite("Aggregator reads")
struct ReadTests {
    @Test("the throttle lets a burst through, then refuses with the time to wait, per client")
    func throttle() throws {
        let buckets = ReadThrottle<BasicRequestContext>.Buckets(rate: 10, burst: 3)
        let now = ContinuousClock.now
        #expect((0..<3).map { _ in buckets.take("a", now: now) }.allSatisfy { $0 == nil })
        let wait = try #require(buckets.take("a", now: now), "the fourth take is refused with a wait")
        #expect(wait > 0 && wait <= 0.1)
        #expect(buckets.take("b", now: now) == nil, "another client has its own bucket")
        #expect(buckets.take("a", now: now + .milliseconds(150)) == nil, "a token is back after 100 ms")
    }

    @Test("consistency tokens round-trip and refuse what they are not")
    func tokens() {
        let token = ConsistencyToken(orderID: "ord_abc", stage: .finished)
        #expect(ConsistencyToken(text: token.text) == token)
        #expect(!token.text.contains("="))
        #expect(ConsistencyToken(text: "not a token") == nil)
    }
}

/// A deterministic random generator (SplitMix64), so a failing interleaving can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Aggregator HTTP API")
struct AggregatorAPITests {
    @Test("/openapi.yaml documents exactly the routes the server has")
    func openAPI() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let database = try await TestDatabase.open("aggapi", logger: logger)
        let service = AggregatorService(settings: .init(watchWatermarks: false))
        let (host, _) = try await ServiceHost.open(service, settings: HostSettings(service: ServiceConfiguration(serviceName: "aggregator", httpPort: 0)),
                                                  database: database, bus: InMemoryMessageBus(), metrics: nil, logger: logger)
        #expect(try AggregatorOpenAPI.document.mismatches(host.routes.table) == [])
        // And the routes are the router's: none was added around `ServiceRoutes`.
        let served = Set(host.router.routes.map { "\($0.method.rawValue.lowercased()) \($0.path.description)" })
        #expect(served == Set(host.routes.table.map { "\($0.method.rawValue.lowercased()) \(APIDocument.documentPath($0.path))" }))
        let document = try #require(try Yams.load(yaml: AggregatorOpenAPI.document.render(host.routes.table)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let rebuild = try #require(paths["/admin/rebuild"]?["post"] as? [String: Any])
        #expect(rebuild["security"] as? [[String: [String]]] == [["bearer": ["admin"]]])
    }
}

@Suite("Aggregator freshness")
struct FreshnessTests {
    @Test("a source's lag counts both of its topics: its events and the choreographed checkout's")
    func lagOverBothTopics() async throws {
        let store = try await freshStore()
        var placed = try Envelope(PaymentAuthorized(orderID: "o1", authorizationID: "A1", amount: Money("1.00")!, processor: .primary),
                                  correlationID: "o1", messageID: UUID())
        placed.origin = .init(topic: "payment.events", partition: 0, offset: 0)
        var choreographed = try Envelope(PaymentCaptured(orderID: "o2", amount: Money("1.00")!), correlationID: "o2", messageID: UUID())
        choreographed.origin = .init(topic: "payment.events.choreography", partition: 0, offset: 0)
        _ = try await store.apply(placed)
        _ = try await store.apply(choreographed)

        let tracker = FreshnessTracker(topics: ["payment.events": "payment", "payment.events.choreography": "payment", "orders.events": "orders"])
        // 4 written on the first topic and 3 on the second, one of each applied: 3 + 2 behind.
        tracker.update(["payment.events[0]": 4, "payment.events.choreography[0]": 3, "orders.events[0]": 0])
        // (On PostgreSQL the partition column is a BIGINT: this read failed there before.)
        let report = try await tracker.report(store: store, now: Date())
        #expect(report.sources["payment"]?.lagMessages == 5)
        #expect(report.sources["payment"]?.eventsApplied == 2)
        #expect(report.sources["orders"]?.lagMessages == 0)
        #expect(report.sources.count == 2)
    }
}
