import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Messaging
import MessagingTesting
@testable import OrchestratorCore
import ServiceKit
import Storage
import StorageTesting
import Testing
import Yams

/// The orchestrator's HTTP API over an in-memory bus and a temporary database.
struct APIFixture {
    let runner: SagaRunner
    let tracker: ChoreographyTracker
    let relay: OutboxRelay
    let bus: InMemoryMessageBus
    let database: any Database
    let routes: ServiceRoutes
    var router: Router<BasicRequestContext> { routes.router }

    init(choreography: Bool = true) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        database = try await TestDatabase.open("api", logger: logger)
        try await Migrator.migrate(database, Storage.messagingMigrations + OrchestratorService().migrations, logger: logger)
        bus = InMemoryMessageBus()
        relay = OutboxRelay(database: database, bus: bus, service: "orchestrator", logger: logger)
        runner = SagaRunner(database: database, relay: relay, engine: SagaEngine(), logger: logger)
        try await runner.loadDefinitions(builtIn: [CheckoutDefinition.definition])
        routes = ServiceHTTPServer.makeRoutes(health: HealthState(), metrics: nil, access: .off)
        tracker = ChoreographyTracker(database: database, relay: relay, topics: .standard, logger: logger)
        OrchestratorService.addRoutes(to: routes, intake: OrderIntake(runner: runner, tracker: tracker, defaultMode: .orchestration, choreography: choreography, sealer: Self.vault.sealer))
    }

    /// A payment vault of the tests' own: the intake seals with its public key.
    static let vault = try! CardVaultKeys(secret: CardVaultKeys.newSecret())

    static let order = #"{"customerId": "bob", "items": [{"sku": "SKU-COFFEE", "quantity": 2, "unitPrice": "12.50"}], "payment": {"card": "4111 1111 1111 1111"}, "shipTo": {"name": "Bob", "line1": "2 Oak Ave", "city": "Springfield", "postalCode": "12345", "country": "US"}}"#

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
    }
}

@Suite("Orchestrator HTTP API")
struct OrderAPITests {
    @Test("POST /orders accepts a valid order, answers 202 with its URL, and queues the first command")
    func placeOrder() async throws {
        let fixture = try await APIFixture()
        let runner = fixture.runner
        try await Application(router: fixture.router).test(.router) { client in
            let id = try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: APIFixture.order)) { response in
                #expect(response.status == .accepted)
                let body = try APIFixture.json(response.body)
                let id = try #require(body["orderId"] as? String)
                #expect(body["url"] as? String == "/orders/\(id)")
                #expect(response.headers[.location] == "/orders/\(id)")
                return id
            }
            try await client.execute(uri: "/orders/\(id)", method: .get) { response in
                #expect(response.status == .ok)
                let body = try APIFixture.json(response.body)
                #expect(body["status"] as? String == "running")
                #expect(body["total"] as? String == "25.00")
                #expect((body["definition"] as? [String: Any])?["version"] as? Int == 2)
                let steps = try #require(body["steps"] as? [[String: Any]])
                #expect(steps.first?["id"] as? String == "verify-customer")
                #expect(steps.first?["status"] as? String == "running")
            }
            let saga = try #require(try await runner.saga(id))
            // The saga keeps the card sealed for the vault, never the number.
            let card = PaymentCard(try #require(saga.data[path: "payment.card"]?.string))
            #expect(card.isSealed)
            #expect(try APIFixture.vault.open(card) == "4111111111111111")
        }
    }

    @Test("a bad order is a 400 naming the field", arguments: [
        (#"{"items": []}"#, "customerId"),
        (APIFixture.order.replacingOccurrences(of: #""quantity": 2"#, with: #""quantity": 0"#), "items[0].quantity"),
        (APIFixture.order.replacingOccurrences(of: #""12.50""#, with: #""12.505""#), "items[0].unitPrice"),
        (APIFixture.order.replacingOccurrences(of: "4111 1111 1111 1111", with: "4111"), "payment.card"),
        (APIFixture.order.replacingOccurrences(of: #""US""#, with: #""USA""#), "shipTo.country"),
        (APIFixture.order.replacingOccurrences(of: #""items": [{"sku": "SKU-COFFEE", "quantity": 2, "unitPrice": "12.50"}]"#, with: #""items": []"#), "items"),
        ("not json", "JSON"),
        (APIFixture.order.replacingOccurrences(of: #""customerId""#, with: #""mode": "telepathy", "customerId""#), "mode"),
        // The edges the OpenAPI document states (schemathesis found the first overflow the stack).
        (APIFixture.order.replacingOccurrences(of: #""12.50""#, with: #""100000.00""#), "items[0].unitPrice"),
        (APIFixture.order.replacingOccurrences(of: #""12.50""#, with: #""012.50""#), "items[0].unitPrice"),
        (APIFixture.order.replacingOccurrences(of: #""bob""#, with: #"" \t""#), "customerId"),
        (APIFixture.order.replacingOccurrences(of: #""US""#, with: #""U5""#), "shipTo.country"),
        (APIFixture.order.replacingOccurrences(of: "4111 1111 1111 1111", with: "4111 1111 1111 111١"), "payment.card"),
    ])
    func invalidOrder(body: String, field: String) async throws {
        let fixture = try await APIFixture()
        try await Application(router: fixture.router).test(.router) { client in
            try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                let error = try #require(try APIFixture.json(response.body)["error"] as? [String: String])
                #expect(error["message"]?.contains(field) == true, "\(error)")
            }
        }
        #expect(try await fixture.runner.sagas(status: nil, customer: nil, limit: 10, offset: 0).isEmpty)
    }

    @Test("an order at the document's limits is taken", arguments: [
        APIFixture.order.replacingOccurrences(of: #""12.50""#, with: #""99999.99""#),
        APIFixture.order.replacingOccurrences(of: #""12.50""#, with: #""0.01""#),
        APIFixture.order.replacingOccurrences(of: #""quantity": 2"#, with: #""quantity": 1000"#),
        APIFixture.order.replacingOccurrences(of: #""bob""#, with: #"" bob ""#),
    ])
    func edgeOrder(body: String) async throws {
        let fixture = try await APIFixture()
        try await Application(router: fixture.router).test(.router) { client in
            try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .accepted, "\(String(buffer: response.body))")
            }
        }
    }

    @Test("the same Idempotency-Key returns the same order and starts nothing")
    func idempotency() async throws {
        let fixture = try await APIFixture()
        try await Application(router: fixture.router).test(.router) { client in
            var ids: [String] = []
            for expected in [HTTPResponse.Status.accepted, .ok] {
                try await client.execute(uri: "/orders", method: .post, headers: [HTTPField.Name("Idempotency-Key")!: "abc-1"], body: ByteBuffer(string: APIFixture.order)) { response in
                    #expect(response.status == expected)
                    ids.append(try #require(try APIFixture.json(response.body)["orderId"] as? String))
                }
            }
            #expect(ids[0] == ids[1])
        }
        #expect(try await fixture.runner.sagas(status: nil, customer: nil, limit: 10, offset: 0).count == 1)
    }

    @Test("with CHOREOGRAPHY=off a choreographed order is a 409 naming the setting, and nothing is announced")
    func choreographyOff() async throws {
        let fixture = try await APIFixture(choreography: false)
        let body = APIFixture.order.replacingOccurrences(of: #""customerId""#, with: #""mode": "choreography", "customerId""#)
        try await Application(router: fixture.router).test(.router) { client in
            try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .conflict)
                let error = try #require(try APIFixture.json(response.body)["error"] as? [String: String])
                #expect(error["code"] == "choreography-off")
                #expect(error["message"]?.contains("CHOREOGRAPHY=off") == true)
            }
            try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: APIFixture.order)) { response in
                #expect(response.status == .accepted)
            }
        }
        #expect(try await fixture.database.read { try await ChoreographyStore.counts(in: $0) }.isEmpty)
    }

    @Test("orders list by status and customer; unknown orders are 404")
    func listing() async throws {
        let fixture = try await APIFixture()
        try await Application(router: fixture.router).test(.router) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: APIFixture.order)) { #expect($0.status == .accepted) }
            }
            try await client.execute(uri: "/orders?status=running&customer=bob&limit=2", method: .get) { response in
                let body = try APIFixture.json(response.body)
                #expect((body["orders"] as? [Any])?.count == 2)
                #expect(body["nextOffset"] as? Int == 2)
            }
            try await client.execute(uri: "/orders?customer=alice", method: .get) { response in
                let body = try APIFixture.json(response.body)
                #expect((body["orders"] as? [Any])?.isEmpty == true)
            }
            try await client.execute(uri: "/orders?status=lost", method: .get) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/orders?limit=0", method: .get) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/orders/ord_nope", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test("definitions: list, JSON and Mermaid export, import of a new version, refusal of bad ones")
    func definitions() async throws {
        let fixture = try await APIFixture()
        var v3 = CheckoutDefinition.definition
        v3.version = 3
        v3.description = "shorter timeouts"
        let v3JSON = String(decoding: try MessageCoding.encode(v3), as: UTF8.self)
        var invalid = v3
        invalid.version = 4
        invalid.stages.removeFirst()
        invalid.stages.insert(.step(.init(id: "ask-billing", participant: "billing", command: "billing.check.v1")), at: 0)
        let broken = try MessageCoding.encode(invalid)
        try await Application(router: fixture.router).test(.router) { client in
            try await client.execute(uri: "/sagas/definitions/checkout/2?format=mermaid", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).hasPrefix("flowchart TD"))
            }
            try await client.execute(uri: "/sagas/definitions/checkout/2", method: .get) { response in
                let definition = try MessageCoding.decode(SagaDefinition.self, from: Data(buffer: response.body))
                #expect(definition == CheckoutDefinition.definition)
            }
            try await client.execute(uri: "/sagas/definitions/checkout/9", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/sagas/definitions", method: .post, body: ByteBuffer(string: v3JSON)) { #expect($0.status == .created) }
            try await client.execute(uri: "/sagas/definitions", method: .post, body: ByteBuffer(string: v3JSON)) { #expect($0.status == .conflict) }
            try await client.execute(uri: "/sagas/definitions", method: .post, body: ByteBuffer(bytes: broken)) { response in
                #expect(response.status == .unprocessableContent, "the shape is right; the meaning is not")
                #expect(String(buffer: response.body).contains("unknown participant 'billing'"))
            }
            try await client.execute(uri: "/sagas/definitions", method: .get) { response in
                let list = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [[String: Any]])
                #expect(list.map { $0["version"] as? Int } == [2, 3])
            }
        }
    }

    @Test("a running saga stays on the version it started with; new sagas take the newest")
    func versionPinning() async throws {
        let fixture = try await APIFixture()
        let order = try MessageCoding.decode(OrderRequest.self, from: Data(APIFixture.order.utf8))
        let (first, _) = try await fixture.runner.place(order, idempotencyKey: nil)
        var v3 = CheckoutDefinition.definition
        v3.version = 3
        #expect(try await fixture.runner.importDefinition(v3))
        let (second, _) = try await fixture.runner.place(order, idempotencyKey: nil)
        #expect(try await fixture.runner.saga(first)?.definitionVersion == 2)
        #expect(try await fixture.runner.saga(second)?.definitionVersion == 3)
    }

    @Test("/openapi.yaml documents exactly the routes the server has")
    func openAPI() async throws {
        let fixture = try await APIFixture()
        #expect(try OpenAPIDocument.document.mismatches(fixture.routes.table) == [])
        let served = Set(fixture.router.routes.map { "\($0.method.rawValue.lowercased()) \($0.path.description)" })
        #expect(served == Set(fixture.routes.table.map { "\($0.method.rawValue.lowercased()) \(APIDocument.documentPath($0.path))" }))
        let document = try #require(try Yams.load(yaml: OpenAPIDocument.document.render(fixture.routes.table)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let place = try #require(paths["/orders"]?["post"] as? [String: Any])
        #expect(place["security"] as? [[String: [String]]] == [["bearer": ["orders:write"]]])
        #expect(Set((place["responses"] as? [String: Any] ?? [:]).keys).isSuperset(of: ["400", "401", "403", "413"]))
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let orderRequest = try #require(schemas["OrderRequest"] as? [String: Any])
        #expect(Set(orderRequest["required"] as? [String] ?? []) == ["customerId", "items", "payment", "shipTo"])
        try await Application(router: fixture.router).test(.router) { client in
            try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("openapi: 3.1.0"))
            }
        }
    }
}

@Suite("Orchestrator: orders that need attention")
struct NeedsAttentionAPITests {
    /// Answers the command step `step` is waiting for, as its participant would.
    func answer(_ runner: SagaRunner, _ id: String, _ step: String, _ message: some MessageContract) async throws {
        let saga = try #require(try await runner.saga(id))
        let pending = try #require(saga.steps[step]?.pendingMessageID, "\(step) waits for a reply")
        try await runner.handleReply(try Envelope(message, correlationID: id, causationID: pending))
    }

    @Test("a capture refused after the pivot: listed as needs-attention, announced on orders.events, re-driven by POST /orders/{id}/retry")
    func retry() async throws {
        let fixture = try await APIFixture()
        let runner = fixture.runner
        let order = try MessageCoding.decode(OrderRequest.self, from: Data(APIFixture.order.utf8))
        let (id, _) = try await runner.place(order, idempotencyKey: nil)
        try await answer(runner, id, "verify-customer", CustomerVerified(customerID: "bob", tier: .premium))
        try await answer(runner, id, "reserve-stock", StockReserved(orderID: id))
        try await answer(runner, id, "authorize-payment", PaymentAuthorized(orderID: id, authorizationID: "A", amount: 25, processor: .primary))
        try await answer(runner, id, "schedule-shipment", ShipmentScheduled(orderID: id, carrier: "G", trackingNumber: "T", labelReference: "L", fee: 0, priority: false))
        try await answer(runner, id, "commit-stock", StockCommitted(orderID: id, lines: []))
        try await answer(runner, id, "capture-payment", CommandRejected(service: "payment", commandType: CapturePayment.messageType, reason: "processor says no"))
        #expect(try await runner.saga(id)?.status == .needsAttention)

        let events = try await runner.database.read { try await Outbox.pending(limit: 100, in: $0) }.map { $0.message.record }
        let announced = try #require(events.first { $0.headers.string(for: EnvelopeHeader.messageType) == OrderNeedsAttention.messageType })
        let body = try MessageCoding.decode(OrderNeedsAttention.self, from: announced.value)
        #expect(body.unfinished.first?.hasPrefix("capture-payment: payment.capture.v1 refused") == true)

        try await Application(router: fixture.router).test(.router) { client in
            try await client.execute(uri: "/orders?status=needs-attention", method: .get) { response in
                let orders = try APIFixture.json(response.body)["orders"] as? [[String: Any]]
                #expect(orders?.map { $0["orderId"] as? String } == [id])
            }
            try await client.execute(uri: "/orders/\(id)", method: .get) { response in
                let view = try APIFixture.json(response.body)
                #expect((view["attention"] as? [String])?.count == 1)
            }
            try await client.execute(uri: "/orders/\(id)/retry", method: .post) { response in
                #expect(response.status == .accepted)
                let view = try APIFixture.json(response.body)
                #expect(view["status"] as? String == "running")
            }
            try await client.execute(uri: "/orders/\(id)/retry", method: .post) { response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).contains("not-retriable"))
            }
            try await client.execute(uri: "/orders/ord_nope/retry", method: .post) { #expect($0.status == .notFound) }
        }
        try await answer(runner, id, "capture-payment", PaymentCaptured(orderID: id, amount: 25))
        #expect(try await runner.saga(id)?.status == .completed)
    }
}
