import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import MessagingTesting

/// The experiment of issue 16, as a test: the whole stack, broker included, killed with
/// SIGKILL while orders are in flight, then started again on the same databases.
@Suite("Crash after the point of no return", .serialized)
struct CrashRecoveryTests {
    @Test("killed mid-run and restarted: every order terminal, none compensated after shipping, none charged without completing, each completed order captured once")
    func killedMidRun() async throws {
        _ = try TestBroker.servers // runs where the integration environment is set up
        // Captures are slow (a busy card processor), so when the kill comes many orders are
        // past the pivot waiting for theirs: the commands and replies the broker held are
        // lost with it, and after the restart they time out together and open the circuit.
        let stack = try StackProcess(environment: ["PAYMENT_FAULTS": "payment.capture.v1: latency=400ms"])
        defer { stack.stop() }
        try await stack.start()
        let (stocked, _) = try await stack.put("inventory", "/stock/SKU-COFFEE", json: #"{"onHand": 100000}"#)
        #expect(stocked == 200)

        // Sixteen clients place orders; the stack is killed once 80 were accepted.
        let placedBeforeKill = await stack.placeOrders(clients: 16, upTo: 400, killAfter: 80)
        try await stack.start()
        let completed = try await stack.expectRecovered(placedBeforeKill: placedBeforeKill)
        #expect(completed > 0)
    }

    @Test("2,000 orders from 32 clients, the stack killed once 1,000 were accepted and restarted: the same properties hold for every order")
    func killedDuringBenchRun() async throws {
        _ = try TestBroker.servers
        let stack = try StackProcess()
        defer { stack.stop() }
        try await stack.start()
        let (stocked, _) = try await stack.put("inventory", "/stock/SKU-COFFEE", json: #"{"onHand": 100000}"#)
        #expect(stocked == 200)
        // The size of `ensemble bench saga`'s run; the clients do not wait for outcomes, so
        // at the kill most accepted orders are somewhere in their saga.
        let placedBeforeKill = await stack.placeOrders(clients: 32, upTo: 2000, killAfter: 1000)
        try await stack.start()
        // The premise: the kill came while sagas were running.
        let unfinished = try await stack.allOrders().filter { ["running", "compensating"].contains($0.status) }.count
        #expect(unfinished > 0, "every saga had ended before the kill; the test proves nothing")
        print("crash recovery: \(unfinished) of \(placedBeforeKill) orders unfinished at the restart")
        let completed = try await stack.expectRecovered(placedBeforeKill: placedBeforeKill, timeout: .seconds(300))
        #expect(completed > 0)
    }
}

extension StackProcess {
    /// `clients` place orders at once (bob and alice in turn) until `upTo` were accepted;
    /// the stack is killed with SIGKILL, broker included, once `killAfter` were. Returns
    /// how many were accepted when the kill came.
    func placeOrders(clients: Int, upTo total: Int, killAfter: Int) async -> Int {
        let accepted = Locked<[String]>([])
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    while accepted.withLock({ $0.count }) < total {
                        guard let id = try? await self.placeOrder(customer: client.isMultiple(of: 2) ? "bob" : "alice", key: UUID().uuidString) else { return }
                        accepted.withLock { $0.append(id) }
                    }
                }
            }
            while accepted.withLock({ $0.count }) < killAfter { try? await Task.sleep(for: .milliseconds(5)) }
            self.kill9()
        }
        return accepted.withLock { $0.count }
    }

    /// After the restart: every order ends, and for each one what the services hold agrees
    /// with its end — a completed order captured once with its shipment scheduled, any other
    /// neither shipped nor charged. Returns how many completed.
    func expectRecovered(placedBeforeKill: Int, timeout: Duration = .seconds(180)) async throws -> Int {
        try await eventually("every order to end", timeout: timeout) {
            try await self.allOrders().allSatisfy { !["running", "compensating"].contains($0.status) }
        }
        let orders = try await allOrders()
        #expect(orders.count >= placedBeforeKill, "every accepted order is there after the restart")
        var completed = 0
        var violations: [String] = []
        for (id, status) in orders {
            let view = try await json("orchestrator", "/orders/\(id)") as? [String: Any] ?? [:]
            let history = view["history"] as? [[String: Any]] ?? []
            let shipped = history.contains { $0["step"] as? String == "schedule-shipment" && $0["event"] as? String == "step succeeded" }
            let payments = try await json("payment", "/payments?orderId=\(id)") as? [[String: Any]] ?? []
            let payment = payments.first?["payment"] as? [String: Any]
            let captures = (payments.first?["ledger"] as? [[String: Any]] ?? []).filter { $0["entry"] as? String == "capture" }.count
            let shipments = try await json("shipping", "/shipments?orderId=\(id)") as? [[String: Any]] ?? []
            let shipment = shipments.first?["status"] as? String

            switch status {
            case "completed":
                completed += 1
                if captures != 1 { violations.append("\(id): completed with \(captures) captures") }
                if payment?["status"] as? String != "captured" { violations.append("\(id): completed, payment \(payment?["status"] ?? "none")") }
                if shipment != "scheduled" { violations.append("\(id): completed, shipment \(shipment ?? "none")") }
            case "compensated", "failed":
                if shipped { violations.append("\(id): \(status) after its shipment was scheduled") }
                if captures > 0 || payment?["status"] as? String == "captured" { violations.append("\(id): \(status) with money captured") }
                if shipment == "scheduled" { violations.append("\(id): \(status) with a scheduled shipment") }
            default:
                violations.append("\(id): ended \(status)")
            }
        }
        #expect(violations.isEmpty, "\(violations.count) violations: \(violations.prefix(10))")
        print("crash recovery: \(orders.count) orders (\(placedBeforeKill) accepted before the kill), \(completed) completed, \(orders.count - completed) not")
        return completed
    }

    /// Every order the orchestrator knows (id and status), page by page.
    func allOrders() async throws -> [(id: String, status: String)] {
        var orders: [(id: String, status: String)] = []
        var offset = 0
        while true {
            let page = try await json("orchestrator", "/orders?limit=500&offset=\(offset)") as? [String: Any] ?? [:]
            orders += (page["orders"] as? [[String: Any]] ?? []).map { ($0["orderId"] as? String ?? "?", $0["status"] as? String ?? "?") }
            guard let next = page["nextOffset"] as? Int else { return orders }
            offset = next
        }
    }

    func put(_ service: String, _ path: String, json body: String) async throws -> (Int, Data) {
        var request = try await authorized(url(service, path))
        request.httpMethod = "PUT"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        let (data, response) = try await Self.session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}
