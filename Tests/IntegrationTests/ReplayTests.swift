import Contracts
import DevTools
import Foundation
import Kafka
import Messaging
import MessagingTesting
import SQLiteDirect
import Testing

/// `ensemble replay` on every command, reply and event topic after a normal run: each
/// service handles every message a second time, and no row of any database changes.
@Suite("Replay of every topic", .serialized)
struct ReplayTests {
    @Test("after orders of both modes, replaying each topic from its first offset into every consumer of it changes nothing in any database")
    func replayChangesNothing() async throws {
        let stack = try StackProcess()
        defer { stack.stop() }
        try await stack.start()

        var ids: [String] = []
        for index in 0..<24 {
            let mode = index % 2 == 0 ? "orchestration" : "choreography"
            // mallory is refused by profile: some orders fail, most complete.
            ids.append(try await stack.placeOrder(customer: index % 6 == 5 ? "mallory" : "bob", key: TestBroker.unique("replay-\(index)"), mode: mode))
        }
        let placed = ids
        let known = Locked<[String: String]>([:])
        try await eventually("every order terminal", timeout: .seconds(120)) {
            for id in placed where known.withLock({ $0[id] }).map({ $0 == "running" || $0 == "compensating" }) ?? true {
                let status = try await stack.orderStatus(id) ?? "running"
                known.withLock { $0[id] = status }
            }
            return known.withLock { $0.count == placed.count && $0.values.allSatisfy { $0 != "running" && $0 != "compensating" } }
        }
        #expect(known.withLock { $0.values.contains("completed") && $0.values.contains("failed") }, "\(known.withLock { $0 })")

        // At rest: every consumer group of the stack has committed the end of its topics,
        // no outbox holds a message, no profile waits for its refresh, and three looks a
        // second apart see the same rows. (Two looks alone were not enough on a loaded CI
        // machine: a consumer that lagged without moving for a second changed its
        // database after the snapshot, and the last comparison blamed the replays.)
        let data = stack.directory.appendingPathComponent("data").path
        let files = try FileManager.default.contentsOfDirectory(atPath: data).filter { $0.hasSuffix(".sqlite") }.map { "\(data)/\($0)" }
        #expect(files.count == 6)
        let groups = try await stack.consumerGroups()
        #expect(groups.count >= 6, "the stack's consumer groups: \(groups)")
        try await stack.caughtUp(groups)
        let atRest = Locked<[[String]]>([])
        try await eventually("the stack at rest", timeout: .seconds(60)) {
            guard try files.allSatisfy({ try RowDump.pendingWork($0).isEmpty }) else { return false }
            let first = try files.map(RowDump.take)
            for _ in 0..<2 {
                try await Task.sleep(for: .seconds(1))
                guard try files.map(RowDump.take) == first else { return false }
            }
            atRest.withLock { $0 = first }
            return true
        }

        var environment = stack.environment
        environment["KAFKA_BROKERS"] = "127.0.0.1:\(stack.brokerPort)"
        environment["LOG_LEVEL"] = "error"
        var replayed: [String: Int] = [:]
        for topic in TopicCatalog.primaryTopics {
            let (termination, output, errors) = try await ChildProcess.run(
                try EnsembleBinary.path, ["replay", "--topic", topic, "--from-start", "--json", "--timeout-seconds", "120"],
                environment: environment, directory: stack.directory.path, timeout: .seconds(240)
            )
            let result = try #require(
                try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "replay of \(topic) (\(termination)): \(errors.suffix(1500))"
            )
            let consumers = result["consumers"] as? [[String: Any]] ?? []
            #expect(!consumers.isEmpty || topic == "orchestrator.events", "\(topic) has consumers")
            for consumer in consumers {
                let name = consumer["consumer"] as? String ?? "?"
                #expect(consumer["changes"] as? [Any] != nil, "\(topic) → \(name): tables compared")
                #expect((consumer["changes"] as? [Any])?.isEmpty == true, "\(topic) → \(name) changed \(consumer["changes"] ?? "?")")
                replayed["\(topic) → \(name)"] = consumer["messages"] as? Int ?? 0
            }
            #expect(termination == .exited(0), "replay of \(topic): \(errors.suffix(1500))")
        }
        // Every topic carried messages in this run, and each was handled again (but
        // orchestrator.events, which only carries circuit changes).
        for (consumer, messages) in replayed where !consumer.hasPrefix("orchestrator.events") {
            #expect(messages > 0, "\(consumer) replayed \(messages) messages")
        }
        // The replies sent again reached their senders, whose inboxes dropped them: once
        // the stack is at rest again, every database holds what it held before.
        let before = atRest.withLock { $0 }
        let settled = try? await eventually("every database as before the replays", timeout: .seconds(60)) {
            try files.map(RowDump.take) == before
        }
        var changed: [String] = []
        if settled == nil {
            let after = try files.map(RowDump.take)
            for (index, file) in files.enumerated() where after[index] != before[index] {
                let added = Set(after[index]).subtracting(before[index]).sorted().prefix(5)
                let removed = Set(before[index]).subtracting(after[index]).sorted().prefix(5)
                changed.append("\((file as NSString).lastPathComponent): added \(added), removed \(removed)")
                Issue.record("\(file) changed: added \(added), removed \(removed)")
            }
        }
        print("replay: \(replayed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        // Last, so that a CI log cut to its end still shows what changed.
        if !changed.isEmpty { print("replay: changed after the replays: \(changed.joined(separator: "; "))") }
        #expect(stack.isRunning)
    }
}

/// Every row of a SQLite file as text (`ensemble replay` compares its own snapshots; this
/// compares the whole stack's). SQLite's own tables are left out: `sqlite_sequence`
/// counts the outbox ids the replies sent again used.
enum RowDump {
    static func take(_ path: String) throws -> [String] {
        let handle = try SQLiteHandle(path: path)
        defer { handle.close() }
        try handle.execute("PRAGMA busy_timeout = 10000", []) { _, _ in }
        var tables: [String] = []
        try handle.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name", []) { _, values in
            if case .text(let name) = values.first { tables.append(name) }
        }
        var rows: [String] = []
        for table in tables {
            try handle.execute("SELECT * FROM \"\(table)\"", []) { _, values in rows.append("\(table): \(values)") }
        }
        return rows.sorted()
    }

    /// What the service at `path` still has to do by itself: messages in its outbox,
    /// profiles marked for the aggregator's refresher. Empty when it has nothing.
    static func pendingWork(_ path: String) throws -> [String] {
        let handle = try SQLiteHandle(path: path)
        defer { handle.close() }
        try handle.execute("PRAGMA busy_timeout = 10000", []) { _, _ in }
        var tables: Set<String> = []
        try handle.execute("SELECT name FROM sqlite_master WHERE type = 'table'", []) { _, values in
            if case .text(let name) = values.first { tables.insert(name) }
        }
        var pending: [String] = []
        for table in ["outbox", "agg_dirty"] where tables.contains(table) {
            try handle.execute("SELECT COUNT(*) FROM \(table)", []) { _, values in
                if case .integer(let count) = values.first, count > 0 { pending.append("\(table): \(count)") }
            }
        }
        return pending
    }
}

extension StackProcess {
    /// Every consumer group the stack's services report in `/health/ready` (a check
    /// `consumer <group>` whose detail is `consuming <topic>, <topic>`), with its topics.
    func consumerGroups() async throws -> [(group: String, topics: [String])] {
        var groups: [(group: String, topics: [String])] = []
        for service in ["orchestrator", "payment", "inventory", "shipping", "profile", "aggregator"] {
            let (_, data) = try await get(service, "/health/ready")
            let checks = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["checks"] as? [String: [String: Any]] ?? [:]
            for (name, check) in checks where name.hasPrefix("consumer ") {
                let detail = check["detail"] as? String ?? ""
                guard detail.hasPrefix("consuming ") else { continue }
                let topics = detail.dropFirst("consuming ".count).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                groups.append((String(name.dropFirst("consumer ".count)), topics))
            }
        }
        return groups
    }

    /// Waits until every group committed every record its topics hold now.
    func caughtUp(_ groups: [(group: String, topics: [String])], timeout: Duration = .seconds(60)) async throws {
        let admin = try KafkaAdmin(configuration: KafkaClientConfiguration(bootstrapServers: ["127.0.0.1:\(brokerPort)"], clientID: "replay-test"), logger: TestBroker.logger)
        for (group, topics) in groups {
            let marks = try await admin.highWatermarks(topics, timeout: .seconds(5))
            try await eventually("group \(group) to commit up to the end of \(topics)", timeout: timeout) {
                let committed = try await admin.committedOffsets(group: group, timeout: .seconds(5))
                return marks.allSatisfy { partition, high in high == 0 || (committed[partition] ?? 0) >= high }
            }
        }
    }
}
