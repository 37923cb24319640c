import Contracts
import Foundation
import OrchestratorCore
import Testing
@testable import Ensemble

/// The rules `ensemble chaos` checks, against states built by hand: each broken property
/// is reported, and a clean state has none.
@Suite("Chaos invariants")
struct ChaosRulesTests {
    static let orders = [
        ChaosOrder(id: "o-done", kind: .happy, mode: .orchestration),
        ChaosOrder(id: "o-declined", kind: .decline, mode: .choreography),
    ]
    static let initial = [Workload.sku: 10]

    /// One completed order (captured, stock committed, shipped) and one compensated one
    /// (voided, stock released), everything drained.
    static var clean: SystemState {
        var state = SystemState()
        state.statuses = ["o-done": "completed", "o-declined": "compensated"]
        state.paymentStatus = ["o-done": "captured", "o-declined": "voided"]
        state.captures = ["o-done": 1]
        state.stock = [Workload.sku: (onHand: 9, reserved: 0)]
        state.reservations = [
            (order: "o-done", sku: Workload.sku, quantity: 1, status: "committed"),
            (order: "o-declined", sku: Workload.sku, quantity: 1, status: "released"),
        ]
        state.shipments = ["o-done": "scheduled"]
        state.outboxes = ["payment": 0]
        state.lag = ["ensemble-payment": 0]
        return state
    }

    func rules(_ state: SystemState) -> Set<String> {
        Set(ChaosRules.violations(orders: Self.orders, initialStock: Self.initial, state: state).map(\.rule))
    }

    @Test("a consistent state has no violation")
    func clean() {
        #expect(rules(Self.clean).isEmpty)
    }

    @Test("payments: a second capture, a capture for an order that did not complete, an authorization left open")
    func payments() {
        var state = Self.clean
        state.captures["o-done"] = 2
        #expect(rules(state).contains("no payment captured twice"))
        state = Self.clean
        state.paymentStatus["o-declined"] = "captured"
        #expect(rules(state).contains("no capture for an order that did not complete"))
        state = Self.clean
        state.paymentStatus["o-declined"] = "authorized"
        #expect(rules(state) == ["every authorization captured or voided"])
        state = Self.clean
        state.captures["o-done"] = nil
        #expect(rules(state) == ["every completed order captured once"])
    }

    @Test("stock: units lost, a reservation left behind, stock taken for a failed order")
    func stock() {
        var state = Self.clean
        state.stock[Workload.sku] = (onHand: 8, reserved: 0)
        #expect(rules(state) == ["stock conserved"])
        state = Self.clean
        state.reservations[1].status = "reserved"
        state.stock[Workload.sku] = (onHand: 9, reserved: 1)
        #expect(rules(state).contains("no reservation left for a terminal order"))
        state = Self.clean
        state.reservations[1].status = "committed"
        state.stock[Workload.sku] = (onHand: 8, reserved: 0)
        #expect(rules(state) == ["no stock taken for an order that did not complete"])
    }

    @Test("shipments, orders, outboxes, lag, dead letters and profiles waiting for a refresh")
    func rest() {
        var state = Self.clean
        state.shipments["o-declined"] = "scheduled"
        #expect(rules(state) == ["no shipment for an order that did not complete"])
        state = Self.clean
        state.shipments["o-done"] = nil
        #expect(rules(state) == ["one shipment per completed order"])
        state = Self.clean
        state.statuses["o-declined"] = "compensating"
        #expect(rules(state).contains("every order terminal"))
        state = Self.clean
        state.outboxes["payment"] = 3
        state.lag["ensemble-payment"] = 2
        state.deadLetters["payment.commands.dlq"] = 1
        #expect(rules(state) == ["every outbox empty", "consumer lag zero", "dead-letter topics empty"])
        state = Self.clean
        state.profilesToRefresh = 2
        #expect(rules(state) == ["every profile refreshed"])
        #expect(!state.quiet)
    }

    @Test("the fault schedule is the seed's: the same seed draws the same numbers, another seed others")
    func seeded() {
        var first = SeededGenerator(seed: 42)
        var second = SeededGenerator(seed: 42)
        var other = SeededGenerator(seed: 43)
        let a = (0..<8).map { _ in first.next() }
        #expect(a == (0..<8).map { _ in second.next() })
        #expect(a != (0..<8).map { _ in other.next() })
    }

    @Test("--kill-every reads 2s, 500ms, 1.5s and plain seconds, and refuses the rest")
    func durations() {
        #expect(ChaosCommand.duration("2s") == .seconds(2))
        #expect(ChaosCommand.duration("500ms") == .milliseconds(500))
        #expect(ChaosCommand.duration("1.5s") == .milliseconds(1500))
        #expect(ChaosCommand.duration("3") == .seconds(3))
        #expect(ChaosCommand.duration("soon") == nil)
        #expect(ChaosCommand.duration("-1s") == nil)
    }
}
