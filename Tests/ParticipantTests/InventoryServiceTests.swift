import Contracts
import Foundation
import InventoryCore
import Messaging
import SQLKit
import Storage
import Testing

@Suite("Inventory service")
struct InventoryServiceTests {
    private func level(_ harness: Harness, _ sku: String) async throws -> (onHand: Int, reserved: Int) {
        try await harness.database.read { sql in
            let row = try #require(try await sql.raw("SELECT on_hand, reserved FROM stock WHERE sku = \(bind: sku)").first())
            return (try row.decode(column: "on_hand", as: Int.self), try row.decode(column: "reserved", as: Int.self))
        }
    }

    private func line(_ sku: String, _ quantity: Int) -> OrderLine {
        OrderLine(sku: sku, quantity: quantity, unitPrice: 10)
    }

    @Test("a reservation takes all lines or none, and names the short SKUs")
    func allOrNothing() async throws {
        let harness = try await Harness.make(InventoryService())
        try await harness.running { harness in
            let short = try await harness.send(ReserveStock(orderID: "o1", lines: [line("SKU-COFFEE", 2), line("SKU-RARE", 2), line("SKU-NOPE", 1)]), correlation: "o1")
            let failed = try await harness.reply(to: short, as: StockReservationFailed.self)
            #expect(failed.shortSKUs == ["SKU-NOPE", "SKU-RARE"])
            #expect(try await level(harness, "SKU-COFFEE") == (100, 0), "nothing reserved")

            let fits = try await harness.send(ReserveStock(orderID: "o2", lines: [line("SKU-COFFEE", 2), line("SKU-COFFEE", 1), line("SKU-RARE", 1)]), correlation: "o2")
            _ = try await harness.reply(to: fits, as: StockReserved.self)
            #expect(try await level(harness, "SKU-COFFEE") == (100, 3))
            #expect(try await level(harness, "SKU-RARE") == (1, 1))

            let taken = try await harness.send(ReserveStock(orderID: "o3", lines: [line("SKU-RARE", 1)]), correlation: "o3")
            #expect(try await harness.reply(to: taken, as: StockReservationFailed.self).shortSKUs == ["SKU-RARE"])
        }
    }

    @Test("reserving twice for one order changes nothing; release gives back; commit takes out")
    func lifecycle() async throws {
        let harness = try await Harness.make(InventoryService())
        try await harness.running { harness in
            let first = try await harness.send(ReserveStock(orderID: "o1", lines: [line("SKU-MUG", 5)]), correlation: "o1")
            _ = try await harness.reply(to: first, as: StockReserved.self)
            let again = try await harness.send(ReserveStock(orderID: "o1", lines: [line("SKU-MUG", 5)]), correlation: "o1")
            _ = try await harness.reply(to: again, as: StockReserved.self)
            #expect(try await level(harness, "SKU-MUG") == (50, 5), "per-order reservations are idempotent")

            let release = try await harness.send(ReleaseStock(orderID: "o1"), correlation: "o1")
            #expect(try await harness.reply(to: release, as: StockReleased.self).lines == [StockQuantity(sku: "SKU-MUG", quantity: 5)])
            #expect(try await level(harness, "SKU-MUG") == (50, 0))
            let releaseAgain = try await harness.send(ReleaseStock(orderID: "o1"), correlation: "o1")
            #expect(try await harness.reply(to: releaseAgain, as: StockReleased.self).lines.isEmpty)

            let reserve = try await harness.send(ReserveStock(orderID: "o2", lines: [line("SKU-MUG", 4)]), correlation: "o2")
            _ = try await harness.reply(to: reserve, as: StockReserved.self)
            let commit = try await harness.send(CommitStock(orderID: "o2"), correlation: "o2")
            #expect(try await harness.reply(to: commit, as: StockCommitted.self).lines == [StockQuantity(sku: "SKU-MUG", quantity: 4)])
            #expect(try await level(harness, "SKU-MUG") == (46, 0))
        }
    }

    @Test("the same message twice has one effect and two identical replies")
    func duplicateMessage() async throws {
        let harness = try await Harness.make(InventoryService())
        try await harness.running { harness in
            let command = try await harness.send(ReserveStock(orderID: "o1", lines: [line("SKU-COFFEE", 10)]), correlation: "o1")
            try await harness.resend(command)
            let replies = try await harness.replies(to: command, count: 2)
            #expect(replies.count == 2)
            #expect(replies[0] == replies[1], "same message id, headers and body")
            #expect(try await level(harness, "SKU-COFFEE") == (100, 10))
            // Both handled and everything published: what is on the bus is all there is.
            try await eventually("both commands handled and the outbox published") {
                let empty = try await harness.outboxCount() == 0
                return harness.bus.committedOffset(group: harness.groupID, topic: harness.commandsTopic) == 2 && empty
            }
            #expect(harness.events.count == 1, "the duplicate publishes no second event")
        }
    }

    @Test("a malformed command goes to the dead-letter topic and changes nothing")
    func poison() async throws {
        let harness = try await Harness.make(InventoryService())
        try await harness.running { harness in
            try await harness.send(ReserveStock(orderID: "o1", lines: [line("SKU-COFFEE", 0)]), correlation: "o1")
            let good = try await harness.send(ReserveStock(orderID: "o2", lines: [line("SKU-COFFEE", 1)]), correlation: "o2")
            _ = try await harness.reply(to: good, as: StockReserved.self)
            #expect(harness.deadLetters.count == 1)
            #expect(try await level(harness, "SKU-COFFEE") == (100, 1))
        }
    }

    @Test("demand adds up lines per SKU; short SKUs are the unknown and the insufficient")
    func rules() {
        let demand = InventoryRules.demand([line("B", 1), line("A", 2), line("B", 3)])
        #expect(demand == [StockQuantity(sku: "A", quantity: 2), StockQuantity(sku: "B", quantity: 4)])
        let stock = ["A": StockLevel(sku: "A", onHand: 5, reserved: 3), "B": StockLevel(sku: "B", onHand: 4)]
        #expect(InventoryRules.shortSKUs(demand: demand, stock: stock).isEmpty)
        #expect(InventoryRules.shortSKUs(demand: [StockQuantity(sku: "A", quantity: 3), StockQuantity(sku: "C", quantity: 1)], stock: stock) == ["A", "C"])
        #expect(InventoryRules.problem(with: []) != nil)
        #expect(InventoryRules.problem(with: [line("A", -1)]) != nil)
    }
}
