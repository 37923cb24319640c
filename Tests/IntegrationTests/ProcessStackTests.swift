import DevTools
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import SQLKit
import Storage
import StorageTesting
import Testing
import MessagingTesting

/// `ensemble up --processes` as a person runs it, every service on PostgreSQL, with two
/// payment and two orchestrator instances sharing their databases and consumer groups;
/// one of each is killed with SIGKILL in the middle of the orders.
@Suite("Service processes sharing PostgreSQL", .serialized)
struct ProcessStackTests {
    static let instances = ["orchestrator": 2, "aggregator": 1, "payment": 2, "inventory": 1, "shipping": 1, "profile": 1]

    @Test("500 orders over 2 payment and 2 orchestrator processes on one PostgreSQL database each, one of each killed with SIGKILL: all terminal, each completed order captured once and nothing else captured, every outbox empty")
    func replicasSurviveKills() async throws {
        let run = TestBroker.unique("procs")
        var urls: [String: String] = [:]
        for service in Self.instances.keys { urls[service] = try await TestDatabase.url("\(run)-\(service)") }
        var environment = ["LOG_LEVEL": "warning"]
        for (service, url) in urls { environment["\(service.uppercased())_DATABASE_URL"] = url }
        let stack = try StackProcess(environment: environment)
        try await stack.start(arguments: ["up", "--processes", "--replicas", "payment=2,orchestrator=2"], instances: Self.instances)

        let (status, _) = try await stack.put("inventory", "/stock/SKU-COFFEE", json: #"{"onHand": 1000}"#)
        #expect(status == 200)

        let total = 500
        let placed = Placed()
        let stackRef = stack
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var index = worker
                    while index < total {
                        // As a careful client would: one key per order, sent again until
                        // an orchestrator answers (a request can time out while one dies).
                        let key = "\(run)-\(index)"
                        let id = try await eventuallyValue("order \(index) placed", timeout: .seconds(60)) {
                            try? await stackRef.placeOrder(key: key)
                        }
                        await placed.add(id)
                        index += 16
                    }
                }
            }
            group.addTask {
                // Kill one instance of each in the middle of the run.
                try await eventually("150 orders placed", timeout: .seconds(120)) { await placed.count >= 150 }
                for label in ["payment#2", "orchestrator#2"] {
                    let pid = try #require(stackRef.pid(of: label), "no pid for \(label) in the log")
                    kill(pid, SIGKILL)
                }
            }
            try await group.waitForAll()
        }
        let ids = await placed.ids
        #expect(ids.count == total)

        // Every order reaches a terminal state.
        let known = Locked<[String: String]>([:])
        let unfinished: Set<String> = ["running", "compensating"]
        try await eventually("every order terminal", timeout: .seconds(180)) {
            for id in ids where known.withLock({ $0[id] }).map(unfinished.contains) ?? true {
                let status = try await stackRef.orderStatus(id)
                known.withLock { $0[id] = status }
            }
            return known.withLock { $0.count == ids.count && $0.values.allSatisfy { !unfinished.contains($0) } }
        }
        let statuses = known.withLock { $0 }
        let outcomes = statuses.values.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }.sorted { $0.key < $1.key }
        print("process stack: \(ids.count) orders, 2 payment + 2 orchestrator processes, one of each killed: \(outcomes.map { "\($0.value) \($0.key)" }.joined(separator: ", "))")
        #expect(stack.logText.contains("payment#2 was killed by signal 9"))
        #expect(stack.logText.contains("orchestrator#2 was killed by signal 9"))

        // Payments, from payment's own database: one capture per completed order, none for another.
        let payment = try await PostgresStore.open(url: try #require(urls["payment"]), logger: Logger(label: "test"))
        let captures = try await payment.read { sql in
            try await sql.raw("SELECT order_id, COUNT(*) AS n FROM ledger WHERE entry = 'capture' GROUP BY order_id").all().map {
                (try $0.decode(column: "order_id", as: String.self), try $0.decode(column: "n", as: Int.self))
            }
        }
        let completed = Set(statuses.filter { $0.value == "completed" }.keys)
        let byOrder = Dictionary(uniqueKeysWithValues: captures)
        #expect(byOrder.values.allSatisfy { $0 == 1 }, "captured twice: \(byOrder.filter { $0.value > 1 })")
        #expect(Set(byOrder.keys) == completed, "captured \(byOrder.count), completed \(completed.count)")
        // How many complete depends on the machine's load (step timeouts compensate the
        // slow ones); the properties above hold whatever the split.
        #expect(!completed.isEmpty, "\(outcomes)")

        // Every outbox drains.
        for (service, url) in urls {
            let database = try await PostgresStore.open(url: url, logger: Logger(label: "test"))
            try await eventually("\(service)'s outbox empty", timeout: .seconds(30)) {
                try await database.read { try await Outbox.count(in: $0) } == 0
            }
        }
        stack.stop()
    }
}

/// The ids of the orders placed so far.
actor Placed {
    private(set) var ids: [String] = []
    var count: Int { ids.count }
    func add(_ id: String) { ids.append(id) }
}
