import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import Messaging
@testable import OrchestratorCore
import Storage
import Testing

@Suite("Choreography: the tracker's rules, the declared flow, the intake")
struct ChoreographyTrackerTests {
    typealias Step = (type: String, reason: String?)

    static let placed: Step = (OrderPlaced.messageType, nil)
    static let verified: Step = (CustomerVerified.messageType, nil)
    static let reserved: Step = (StockReserved.messageType, nil)
    static let authorized: Step = (PaymentAuthorized.messageType, nil)
    static let scheduled: Step = (ShipmentScheduled.messageType, nil)
    static let captured: Step = (PaymentCaptured.messageType, nil)
    static let committed: Step = (StockCommitted.messageType, nil)
    static let declined: Step = (PaymentDeclined.messageType, "payment declined")
    static let short: Step = (StockReservationFailed.messageType, "out of stock")
    static let released: Step = (StockReleased.messageType, nil)
    static let voided: Step = (PaymentVoided.messageType, nil)
    static let refused: Step = (ShipmentRefused.messageType, "shipment refused")
    static let rejected: Step = (CustomerRejected.messageType, "customer blocked")

    /// Applies `steps`; returns the final progress and every finish it reported.
    static func run(_ steps: [Step]) -> (ChoreographyProgress, [ChoreographyProgress.Finish]) {
        var progress = ChoreographyProgress()
        var finishes: [ChoreographyProgress.Finish] = []
        for step in steps {
            if let finish = progress.apply(step.type, reason: step.reason) { finishes.append(finish) }
        }
        return (progress, finishes)
    }

    /// Every order of `steps` (they arrive on different topics, so any order can happen).
    static func permutations(_ steps: [Step]) -> [[Step]] {
        guard steps.count > 1 else { return [steps] }
        return steps.indices.flatMap { index -> [[Step]] in
            var rest = steps
            let first = rest.remove(at: index)
            return permutations(rest).map { [first] + $0 }
        }
    }

    @Test("the happy path completes once, whatever the order of the participants' events")
    func happy() {
        for order in Self.permutations([Self.reserved, Self.authorized, Self.captured, Self.committed]) {
            let (progress, finishes) = Self.run([Self.placed, Self.verified] + order + [Self.scheduled])
            #expect(progress.status == .completed)
            #expect(finishes == [.completed])
        }
    }

    /// Every interleaving of per-source sequences: events of one order from one service
    /// arrive in order (one topic, one key, one partition); across services anything goes.
    static func interleavings(_ sequences: [[Step]]) -> [[Step]] {
        let live = sequences.filter { !$0.isEmpty }
        guard !live.isEmpty else { return [[]] }
        return live.indices.flatMap { index -> [[Step]] in
            var rest = live
            let first = rest[index].removeFirst()
            return interleavings(rest).map { [first] + $0 }
        }
    }

    @Test("a failure ends the order only once the services that must compensate answered, in any interleaving")
    func failures() {
        // Per source: inventory, payment, shipping.
        let cases: [(sources: [[Step]], status: ChoreographyStatus, reason: String)] = [
            ([[Self.reserved, Self.released], [Self.declined]], .compensated, "payment declined"),
            ([[Self.released], [Self.declined]], .failed, "payment declined"),
            ([[Self.short], [Self.authorized, Self.voided]], .compensated, "out of stock"),
            ([[Self.short, Self.released], [Self.declined, Self.voided]], .failed, "out of stock"),
            ([[Self.reserved, Self.released], [Self.authorized, Self.voided], [Self.refused]], .compensated, "shipment refused"),
        ]
        for (sources, status, reason) in cases {
            for order in Self.interleavings(sources) {
                let (progress, finishes) = Self.run([Self.placed, Self.verified] + order)
                #expect(progress.status == status, "\(order.map(\.type))")
                #expect(finishes.count == 1, "\(order.map(\.type))")
                let first = order.first { $0.reason != nil }?.reason
                #expect(progress.failure == first, "the first failure to arrive is the reason")
                if first == reason, case .failed(let given, _)? = finishes.first { #expect(given == status) }
            }
        }
    }

    @Test("an order waits for the compensation it needs: a decline without inventory's answer is not over")
    func waits() {
        let (progress, finishes) = Self.run([Self.placed, Self.verified, Self.reserved, Self.declined])
        #expect(progress.status == .compensating)
        #expect(progress.awaiting == [.inventory])
        #expect(finishes.isEmpty)
        let (refused, _) = Self.run([Self.placed, Self.verified, Self.refused, Self.voided])
        #expect(refused.awaiting == [.inventory])
    }

    @Test("a rejected customer fails at once; later events change nothing")
    func rejected() {
        let (progress, finishes) = Self.run([Self.placed, Self.rejected, Self.reserved, Self.released])
        #expect(progress.status == .failed)
        #expect(finishes == [.failed(status: .failed, reason: "customer blocked")])
    }

    // MARK: The declared flow

    /// `A -->|label| B` lines of the diagram.
    static func arrows(in mermaid: String) -> Set<String> {
        Set(mermaid.split(separator: "\n").compactMap { line -> String? in
            let text = line.trimmingCharacters(in: .whitespaces)
            guard let arrow = text.range(of: " -->|") else { return nil }
            let from = text[..<arrow.lowerBound]
            let rest = text[arrow.upperBound...]
            guard let close = rest.firstIndex(of: "|") else { return nil }
            return "\(from) \(rest[..<close]) \(rest[rest.index(after: close)...].trimmingCharacters(in: .whitespaces))"
        })
    }

    @Test("the Mermaid diagram's arrows are exactly the declared subscriptions, each from the services declared to publish the event")
    func diagramMatchesDeclarations() {
        var expected: Set<String> = []
        for reaction in ChoreographyCatalog.reactions {
            let publishers = reaction.on == OrderPlaced.self
                ? ["intake"]
                : ChoreographyCatalog.reactions.filter { $0.emits.contains { $0.messageType == reaction.on.messageType } }.map(\.service.rawValue)
            #expect(!publishers.isEmpty, "nobody publishes \(reaction.on.messageType), which \(reaction.service) waits for")
            for publisher in publishers {
                expected.insert("\(publisher) \(ChoreographyDocument.shortName(reaction.on.messageType)) \(reaction.service)")
            }
        }
        let drawn = Self.arrows(in: ChoreographyDocument().mermaid)
        #expect(drawn == expected)
        // Every declared subscription is drawn: profile on order-placed, shipping's join, ...
        #expect(drawn.contains("profile customer-verified inventory"))
        #expect(drawn.contains("payment payment-authorized shipping"))
        #expect(drawn.contains("shipping shipment-refused payment"))
    }

    @Test("each participant subscribes to the topics of the events it reacts to, and the tracker to every participant")
    func subscriptions() {
        let document = ChoreographyDocument()
        let byService = Dictionary(uniqueKeysWithValues: document.services.map { ($0.service, $0) })
        #expect(byService[.profile]?.subscribes == ["orders.events.choreography"])
        #expect(byService[.inventory]?.subscribes == ["payment.events.choreography", "profile.events.choreography", "shipping.events.choreography"])
        #expect(byService[.shipping]?.subscribes == ["inventory.events.choreography", "orders.events.choreography", "payment.events.choreography", "profile.events.choreography"])
        #expect(document.tracker.subscribes.count == 4)
        #expect(document.tracker.subscribes.allSatisfy { $0.hasSuffix(".events.choreography") })
        #expect(document.deadlineOwner == .shipping && document.shippingRuleLives == .shipping)
    }

    // MARK: The intake

    @Test("POST /orders with mode choreography only announces the order; GET /orders/{id} shows it; GET /choreography in both formats")
    func intake() async throws {
        let fixture = try await APIFixture()
        let body = APIFixture.order.replacingOccurrences(of: #""customerId""#, with: #""mode": "choreography", "customerId""#)
        try await Application(router: fixture.router).test(.router) { client in
            let id = try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .accepted)
                let json = try APIFixture.json(response.body)
                #expect(json["mode"] as? String == "choreography")
                return try #require(json["orderId"] as? String)
            }
            try await client.execute(uri: "/orders/\(id)", method: .get) { response in
                #expect(response.status == .ok)
                let json = try APIFixture.json(response.body)
                #expect(json["mode"] as? String == "choreography")
                #expect(json["status"] as? String == "running")
                #expect((json["timeline"] as? [Any])?.count == 1)
            }
            try await client.execute(uri: "/choreography?format=mermaid", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).hasPrefix("flowchart LR"))
            }
            try await client.execute(uri: "/choreography", method: .get) { response in
                let json = try APIFixture.json(response.body)
                #expect((json["services"] as? [Any])?.count == 4)
                #expect((json["edges"] as? [Any])?.count == ChoreographyDocument.edges.count)
            }
            try await client.execute(uri: "/choreography?format=svg", method: .get) { #expect($0.status == .badRequest) }
        }
        // No saga, no command: only order-placed, with the flow header and the order's data,
        // on the choreography's own topic.
        #expect(try await fixture.runner.sagas(status: nil, customer: nil, limit: 10, offset: 0).isEmpty)
        _ = try await fixture.relay.drain()
        #expect(fixture.bus.records(in: "orders.events").isEmpty)
        let published = fixture.bus.envelopes(in: "orders.events.choreography")
        #expect(published.map(\.messageType) == [OrderPlaced.messageType])
        #expect(published.first?.flow == ChoreographyCatalog.flow)
        let card = try #require(try published.first?.decode(OrderPlaced.self).choreography?.card)
        #expect(card.isSealed, "the intake sealed the card for the vault")
        #expect(!card.text.contains("4111111111111111"))
        #expect(try APIFixture.vault.open(card) == "4111111111111111", "and only the vault's key opens it")
        #expect(fixture.bus.records(in: "payment.commands").isEmpty && fixture.bus.records(in: "profile.commands").isEmpty)
    }

    @Test("the tracker applies a participant's event once and publishes the outcome event with it")
    func trackerOutcome() async throws {
        let fixture = try await APIFixture()
        var request = try MessageCoding.decode(OrderRequest.self, from: Data(APIFixture.order.utf8))
        request.mode = .choreography
        let (id, _) = try await fixture.tracker.place(request, idempotencyKey: nil)
        func event(_ message: some MessageContract) throws -> Envelope {
            try Envelope(message, correlationID: id, flow: ChoreographyCatalog.flow)
        }
        let events = [
            try event(CustomerVerified(customerID: "bob", tier: .premium)), try event(StockReserved(orderID: id)),
            try event(PaymentAuthorized(orderID: id, authorizationID: "a", amount: 25, processor: .primary)),
            try event(PaymentCaptured(orderID: id, amount: 25)), try event(StockCommitted(orderID: id, lines: [])),
        ]
        for envelope in events + events { try await fixture.tracker.apply(envelope) }
        // An event without the flow header belongs to an orchestrated order: ignored.
        try await fixture.tracker.apply(try Envelope(PaymentDeclined(orderID: id, reason: "x"), correlationID: id))
        let view = try #require(try await fixture.tracker.view(id))
        #expect(view.status == .completed)
        #expect(view.timeline.count == 6, "placed and five events, each once")
        _ = try await fixture.relay.drain()
        let outcomes = fixture.bus.envelopes(in: "orders.events").filter { $0.messageType == OrderCompleted.messageType }
        #expect(outcomes.count == 1)
        #expect(try outcomes.first?.decode(OrderCompleted.self).total == 25)
    }
}
