import Contracts
import Foundation
import Kafka
import Logging
@testable import Messaging
import MessagingTesting
import Synchronization
import Testing

@Suite("Message consumer: routing and dead letters")
struct MessageConsumerTests {
    let bus = InMemoryMessageBus()
    let topic = "profile.commands"
    let handled = Locked<[String]>([])

    private func consumer(retry: RetryPolicy = RetryPolicy(attempts: 3, initialBackoff: .milliseconds(1)), handler: (@Sendable (VerifyCustomer) throws -> Void)? = nil) -> MessageConsumer {
        var router = MessageRouter()
        router.on(VerifyCustomer.self) { [handled] command, _ in
            try handler?(command)
            handled.withLock { $0.append(command.customerID) }
        }
        return MessageConsumer(name: "test", bus: bus, subscription: Subscription(groupID: "g", topics: [topic]), router: router, retry: retry, logger: Logger(label: "test"))
    }

    private func run(_ consumer: MessageConsumer, until condition: @escaping @Sendable () -> Bool) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            try await waitUntil(condition)
            group.cancelAll()
        }
    }

    private func publish(customer: String) async throws {
        try await bus.publish(try Envelope(VerifyCustomer(customerID: customer), correlationID: "order-\(customer)"), to: topic)
    }

    @Test("poison messages go to <topic>.dlq with the reason and origin; the ones after them are handled")
    func poisonMessages() async throws {
        try await publish(customer: "alice")
        // A body that does not decode as VerifyCustomer.
        try await bus.publish(Envelope(messageType: VerifyCustomer.messageType, correlationID: "o", body: Data(#"{"customer":"x"}"#.utf8)), to: topic)
        // A type nobody handles.
        try await bus.publish(Envelope(messageType: "profile.unheard-of.v9", correlationID: "o", body: Data("{}".utf8)), to: topic)
        // No envelope at all.
        try await bus.publish(KafkaProducerMessage(topic: topic, key: "k", value: Data("garbage".utf8)))
        try await publish(customer: "bob")

        try await run(consumer()) { handled.withLock { $0.count } == 2 && bus.records(in: "profile.commands.dlq").count == 3 }

        #expect(handled.withLock { $0 } == ["alice", "bob"])
        let letters = bus.records(in: "profile.commands.dlq")
        #expect(letters.map { $0.headers.string(for: DeadLetterHeader.reason) } == ["malformed-body", "unknown-message-type", "missing-header"])
        #expect(letters.map { $0.headers.string(for: DeadLetterHeader.originalOffset) } == ["1", "2", "3"])
        #expect(letters.allSatisfy { $0.headers.string(for: DeadLetterHeader.originalTopic) == topic })
        #expect(letters.allSatisfy { $0.headers.string(for: DeadLetterHeader.consumerGroup) == "g" })
        #expect(letters[0].headers.string(for: DeadLetterHeader.detail)?.contains("customerId") == true)
        #expect(letters[2].value == Data("garbage".utf8), "the original bytes are kept")
        #expect(letters[0].headers.string(for: "message-type") == VerifyCustomer.messageType, "the original headers are kept")
        #expect(bus.committedOffset(group: "g", topic: topic) == 5)
    }

    /// A consumer whose records are grouped, with a scope that counts the groups it ran
    /// (and what each contained) instead of a database group commit.
    private func batchingConsumer(groups: Locked<[[String]]>, handler: @escaping @Sendable (VerifyCustomer) throws -> Void) -> MessageConsumer {
        let current = Locked<[String]>([])
        var router = MessageRouter()
        router.on(VerifyCustomer.self) { [handled] command, _ in
            try handler(command)
            handled.withLock { $0.append(command.customerID) }
            current.withLock { $0.append(command.customerID) }
        }
        let scope: MessageConsumer.BatchScope = { body in
            current.withLock { $0 = [] }
            let stop = try await body()
            groups.withLock { $0.append(current.withLock { $0 }) }
            return stop
        }
        return MessageConsumer(
            name: "test", bus: bus, subscription: Subscription(groupID: "g", topics: [topic]), router: router,
            retry: RetryPolicy(attempts: 3, initialBackoff: .milliseconds(1)), maxBatch: 16, batchScope: scope, logger: Logger(label: "test")
        )
    }

    @Test("records that arrived together are handled as one group, in order; a rejection ends the group, is dead-lettered, and the rest form the next")
    func groupsAroundARejection() async throws {
        for customer in ["a", "b", "mallory", "c", "d"] { try await publish(customer: customer) }
        let groups = Locked<[[String]]>([])
        let consumer = batchingConsumer(groups: groups) { command in
            if command.customerID == "mallory" { throw MessageRejection("customer is blocked") }
        }
        try await run(consumer) { bus.committedOffset(group: "g", topic: topic) == 5 }
        #expect(handled.withLock { $0 } == ["a", "b", "c", "d"])
        #expect(groups.withLock { $0 } == [["a", "b"], ["c", "d"]], "two group commits around the rejected record")
        let letters = bus.records(in: "profile.commands.dlq")
        #expect(letters.map { $0.headers.string(for: DeadLetterHeader.reason) } == ["rejected"])
        #expect(letters.first?.headers.string(for: DeadLetterHeader.originalOffset) == "2")
    }

    @Test("a record that fails inside a group is retried alone, then the rest go on as a group, order kept")
    func groupsAroundAFailure() async throws {
        struct Transient: Error {}
        for customer in ["a", "flaky", "b", "c"] { try await publish(customer: customer) }
        let failures = Locked(1)
        let groups = Locked<[[String]]>([])
        let consumer = batchingConsumer(groups: groups) { command in
            guard command.customerID == "flaky" else { return }
            try failures.withLock { remaining in
                if remaining > 0 { remaining -= 1; throw Transient() }
            }
        }
        try await run(consumer) { bus.committedOffset(group: "g", topic: topic) == 4 }
        #expect(handled.withLock { $0 } == ["a", "flaky", "b", "c"])
        #expect(groups.withLock { $0 } == [["a"], ["b", "c"]], "the failed record was handled outside any group")
        #expect(bus.records(in: "profile.commands.dlq").isEmpty)
    }

    @Test("when a group as a whole does not commit, its records are handled again one at a time")
    func groupThatDoesNotCommit() async throws {
        struct CommitFailed: Error {}
        for customer in ["a", "b", "c"] { try await publish(customer: customer) }
        let scopes = Locked(0)
        var router = MessageRouter()
        router.on(VerifyCustomer.self) { [handled] command, _ in handled.withLock { $0.append(command.customerID) } }
        let scope: MessageConsumer.BatchScope = { body in
            _ = try await body()
            scopes.withLock { $0 += 1 }
            throw CommitFailed()
        }
        let consumer = MessageConsumer(
            name: "test", bus: bus, subscription: Subscription(groupID: "g", topics: [topic]), router: router,
            maxBatch: 16, batchScope: scope, logger: Logger(label: "test")
        )
        try await run(consumer) { bus.committedOffset(group: "g", topic: topic) == 3 }
        #expect(scopes.withLock { $0 } == 1)
        #expect(handled.withLock { $0 } == ["a", "b", "c", "a", "b", "c"], "the group ran once, then each record alone")
    }

    @Test("a transient failure is retried and then succeeds")
    func retriesThenSucceeds() async throws {
        struct Transient: Error {}
        let failures = Locked(2)
        try await publish(customer: "carol")
        try await run(consumer { _ in
            try failures.withLock { remaining in
                if remaining > 0 { remaining -= 1; throw Transient() }
            }
        }) { handled.withLock { $0.count } == 1 }
        #expect(handled.withLock { $0 } == ["carol"])
        #expect(bus.records(in: "profile.commands.dlq").isEmpty)
    }

    @Test("a handler that keeps failing is dead-lettered after its attempts")
    func exhaustedRetries() async throws {
        struct Down: Error {}
        let attempts = Locked(0)
        try await publish(customer: "dave")
        try await publish(customer: "erin")
        try await run(consumer { command in
            if command.customerID == "dave" {
                attempts.withLock { $0 += 1 }
                throw Down()
            }
        }) { handled.withLock { $0.count } == 1 }
        #expect(attempts.withLock { $0 } == 3)
        let letters = bus.records(in: "profile.commands.dlq")
        #expect(letters.count == 1)
        #expect(letters.first?.headers.string(for: DeadLetterHeader.reason) == "handler-failed")
        #expect(handled.withLock { $0 } == ["erin"])
    }

    @Test("a rejection is dead-lettered at once, without retries")
    func rejection() async throws {
        let attempts = Locked(0)
        try await publish(customer: "mallory")
        try await run(consumer { _ in
            attempts.withLock { $0 += 1 }
            throw MessageRejection("customer is blocked")
        }) { bus.records(in: "profile.commands.dlq").count == 1 }
        #expect(attempts.withLock { $0 } == 1)
        let letter = try #require(bus.records(in: "profile.commands.dlq").first)
        #expect(letter.headers.string(for: DeadLetterHeader.reason) == "rejected")
        #expect(letter.headers.string(for: DeadLetterHeader.detail) == "customer is blocked")
    }

    @Test("a body its handler cannot decode (a handler that decodes for itself) is dead-lettered at once as malformed-body, without retries")
    func malformedInHandler() async throws {
        let attempts = Locked(0)
        try await publish(customer: "oscar")
        try await run(consumer { _ in
            attempts.withLock { $0 += 1 }
            throw MessagingError(code: .malformedBody, message: "profile.verify-customer.v1: customerId is not a string")
        }) { bus.records(in: "profile.commands.dlq").count == 1 }
        #expect(attempts.withLock { $0 } == 1)
        let letter = try #require(bus.records(in: "profile.commands.dlq").first)
        #expect(letter.headers.string(for: DeadLetterHeader.reason) == "malformed-body")
    }

    @Test("when the dead letter cannot be written the partition is held and reported, then released; nothing is lost")
    func deadLetterPublishFails() async throws {
        try await bus.publish(KafkaProducerMessage(topic: topic, key: "k", value: Data("garbage".utf8)))
        try await publish(customer: "after")
        bus.failNextPublishes(3)
        let holds = Locked<[String?]>([])
        var router = MessageRouter()
        router.on(VerifyCustomer.self) { [handled] command, _ in handled.withLock { $0.append(command.customerID) } }
        let consumer = MessageConsumer(
            name: "test", bus: bus, subscription: Subscription(groupID: "g", topics: [topic]), router: router,
            deadLetterRetry: RetryPolicy(attempts: .max, initialBackoff: .milliseconds(5), maxBackoff: .milliseconds(20)),
            logger: Logger(label: "test"), onHold: { _, reason in holds.withLock { $0.append(reason) } }
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            try await waitUntil { holds.withLock { $0.count } >= 1 }
            #expect(bus.committedOffset(group: "g", topic: topic) == 0, "held: the record is not committed")
            #expect(handled.withLock { $0 }.isEmpty, "held: nothing after it is handled")
            try await waitUntil { handled.withLock { $0 } == ["after"] }
            group.cancelAll()
        }
        let reported = holds.withLock { $0 }
        #expect(reported.count == 2)
        #expect(reported.first??.contains("cannot be written") == true)
        #expect(reported.last == .some(nil), "released once the dead letter was written")
        #expect(bus.records(in: "profile.commands.dlq").count == 1)
        #expect(bus.committedOffset(group: "g", topic: topic) == 2)
    }

    @Test("a record over the consumer's size limit is dead-lettered as too-large without being decoded")
    func tooLarge() async throws {
        try await bus.publish(try Envelope(VerifyCustomer(customerID: String(repeating: "x", count: 5000)), correlationID: "big"), to: topic)
        try await publish(customer: "small")
        var router = MessageRouter()
        router.on(VerifyCustomer.self) { [handled] command, _ in handled.withLock { $0.append(command.customerID) } }
        let consumer = MessageConsumer(name: "test", bus: bus, subscription: Subscription(groupID: "g", topics: [topic]), router: router, maxRecordBytes: 1000, logger: Logger(label: "test"))
        try await run(consumer) { handled.withLock { $0.count } == 1 }
        #expect(handled.withLock { $0 } == ["small"])
        let letter = try #require(bus.records(in: "profile.commands.dlq").first)
        #expect(letter.headers.string(for: DeadLetterHeader.reason) == "too-large")
        #expect(letter.headers.string(for: DeadLetterHeader.detail)?.contains("at most 1000") == true)
    }

    @Test("a record of a type handled only in another flow, or passed by, is committed unread; the same broken record in the handled flow is dead-lettered")
    func passesOtherFlows() async throws {
        let events = "payment.events"
        let flowType = "payment.authorized.v1"
        let passedType = "payment.captured.v1"
        // Headers alone: a broken envelope (no message-id) shows whether it was read.
        func broken(_ type: String, flow: String?) -> KafkaProducerMessage {
            var headers = [KafkaHeader(key: EnvelopeHeader.messageType, string: type)]
            if let flow { headers.append(KafkaHeader(key: EnvelopeHeader.flow, string: flow)) }
            return KafkaProducerMessage(topic: events, key: "o", value: Data("{}".utf8), headers: headers)
        }
        try await bus.publish(broken(flowType, flow: nil))
        try await bus.publish(broken(flowType, flow: "orchestration"))
        try await bus.publish(broken(passedType, flow: "choreography"))
        try await bus.publish(broken(flowType, flow: "choreography"))
        try await bus.publish(broken("payment.unheard-of.v9", flow: nil))
        try await bus.publish(Envelope(messageType: flowType, correlationID: "o-7", flow: "choreography", body: Data("{}".utf8)), to: events)
        try await bus.publish(Envelope(messageType: flowType, correlationID: "o-8", body: Data("{}".utf8)), to: events)

        var router = MessageRouter()
        router.on(messageType: flowType, inFlow: "choreography") { [handled] envelope in handled.withLock { $0.append(envelope.correlationID) } }
        router.pass(messageType: passedType)
        #expect(router.passes(messageType: flowType, flow: nil))
        #expect(!router.passes(messageType: flowType, flow: "choreography"))
        #expect(router.passes(messageType: passedType, flow: "choreography"))
        #expect(!router.passes(messageType: "payment.unheard-of.v9", flow: nil))
        let consumer = MessageConsumer(name: "test", bus: bus, subscription: Subscription(groupID: "g", topics: [events]), router: router, logger: Logger(label: "test"))
        try await run(consumer) { bus.committedOffset(group: "g", topic: events) == 7 }

        #expect(handled.withLock { $0 } == ["o-7"], "only the record of the handled flow reaches the handler")
        let letters = bus.records(in: "payment.events.dlq")
        // The broken record of the handled flow, and the one of a type this router does not
        // know (read in full, whatever its flow), are dead-lettered for their missing header.
        #expect(letters.map { $0.headers.string(for: DeadLetterHeader.reason) } == ["missing-header", "missing-header"])
        #expect(letters.map { $0.headers.string(for: DeadLetterHeader.originalOffset) } == ["3", "4"])
    }
}

@Suite("Dead letters: bounded in size")
struct DeadLetterTests {
    let dead = DeadLetter(error: MessagingError(code: .malformedBody, message: "bad"), consumerGroup: "g", failedAt: Date(timeIntervalSince1970: 0))
    let limits = DeadLetterLimits(maxBodyBytes: 1000, truncatedBodyBytes: 100, maxKeyBytes: 10, maxHeaders: 3, maxHeaderValueBytes: 50, maxHeaderBytes: 120, maxDetailBytes: 40)

    func record(body: Data, key: String = "k", headers: [KafkaHeader] = []) -> KafkaConsumerMessage {
        KafkaConsumerMessage(topic: "t", partition: 2, offset: 7, key: Data(key.utf8), value: body, headers: headers, timestamp: nil)
    }

    @Test("a record within the limits is copied whole, with the reason and origin")
    func whole() {
        let original = record(body: Data("hello".utf8), headers: [KafkaHeader(key: "message-type", string: "x.v1")])
        let letter = dead.record(for: original, limits: limits)
        #expect(letter.topic == "t.dlq")
        #expect(letter.value == Data("hello".utf8))
        #expect(letter.key == Data("k".utf8))
        #expect(letter.headers.string(for: "message-type") == "x.v1")
        #expect(letter.headers.string(for: DeadLetterHeader.originalPartition) == "2")
        #expect(letter.headers.string(for: DeadLetterHeader.originalOffset) == "7")
        #expect(letter.headers.string(for: DeadLetterHeader.truncated) == nil)
    }

    @Test("a body over the limit is cut, with its size and SHA-256")
    func truncatedBody() {
        let body = Data((0..<5000).map { UInt8($0 % 251) })
        let letter = dead.record(for: record(body: body), limits: limits)
        #expect(letter.value == body.prefix(100))
        #expect(letter.headers.string(for: DeadLetterHeader.truncated) == "body")
        #expect(letter.headers.string(for: DeadLetterHeader.originalSize) == "5000")
        // sha256 of the same bytes, computed independently of the code under test:
        let expected = Self.referenceSHA256(body)
        #expect(letter.headers.string(for: DeadLetterHeader.originalSHA256) == expected)
    }

    @Test("keys, headers and the detail are bounded too; dropped headers are named")
    func boundedHeaders() {
        let headers = (0..<6).map { KafkaHeader(key: "h\($0)", string: String(repeating: "v", count: $0 == 1 ? 500 : 10)) }
        let long = DeadLetter(error: MessagingError(code: .malformedBody, message: String(repeating: "é", count: 100)), consumerGroup: "g")
        let letter = long.record(for: record(body: Data("x".utf8), key: String(repeating: "K", count: 50), headers: headers), limits: limits)
        #expect(letter.key?.count == 10)
        #expect(letter.headers.string(for: "h0") != nil)
        #expect(letter.headers.string(for: "h1") == nil, "a value over maxHeaderValueBytes is dropped")
        #expect(letter.headers.filter { $0.key.hasPrefix("h") }.count == 3, "at most maxHeaders kept")
        #expect(letter.headers.string(for: DeadLetterHeader.headersDropped) == "3: h1,h4,h5")
        #expect(letter.headers.string(for: DeadLetterHeader.truncated) == "key,headers")
        let detail = letter.headers.string(for: DeadLetterHeader.detail) ?? ""
        #expect(detail.utf8.count <= 40 && detail.hasSuffix("..."))
    }

    @Test("the largest possible dead letter stays under librdkafka's default message.max.bytes")
    func largestLetter() {
        #expect(DeadLetterLimits.standard.largestLetterBytes < 1_000_000)
    }

    /// SHA-256 through the `sha256sum` tool.
    static func referenceSHA256(_ data: Data) -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dlq-\(UUID().uuidString)")
        try? data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try? process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return String(output.prefix(64))
    }
}

@Suite("Partition lanes")
struct PartitionLanesTests {
    @Test("under concurrent enqueues and finishes, pauses and resumes strictly alternate (no resume overtakes its pause)")
    func alternation() async {
        let lanes = PartitionLanes(pauseAbove: 2, resumeAt: 0)
        let key = PartitionLanes.Key(KafkaConsumerMessage(topic: "t", partition: 0, offset: 0, key: nil, value: Data(), headers: [], timestamp: nil))
        let calls = Locked<[String]>([])
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    // Bursts: five records in, then five done, over and over, from eight tasks at once.
                    for round in 0..<400 {
                        for _ in 0..<5 { lanes.enqueued(key) { _ in calls.withLock { $0.append("pause") } } }
                        if (round + task).isMultiple(of: 3) { await Task.yield() }
                        for _ in 0..<5 { lanes.finished(key) { _ in calls.withLock { $0.append("resume") } } }
                    }
                }
            }
        }
        let sequence = calls.withLock { $0 }
        #expect(!sequence.isEmpty)
        #expect(sequence.enumerated().allSatisfy { $0.element == ($0.offset.isMultiple(of: 2) ? "pause" : "resume") })
    }

    @Test("a lane over its limit asks for a pause once, and for a resume once it is drained to the low mark")
    func pauseResume() {
        let lanes = PartitionLanes(pauseAbove: 3, resumeAt: 1)
        let key = PartitionLanes.Key(KafkaConsumerMessage(topic: "t", partition: 0, offset: 0, key: nil, value: Data(), headers: [], timestamp: nil))
        let other = PartitionLanes.Key(KafkaConsumerMessage(topic: "t", partition: 1, offset: 0, key: nil, value: Data(), headers: [], timestamp: nil))
        #expect((1...3).map { _ in lanes.enqueued(key) } == [false, false, false])
        #expect(lanes.enqueued(key), "the fourth record is over the limit")
        #expect(!lanes.enqueued(key), "already paused")
        #expect(!lanes.enqueued(other), "other partitions are not affected")
        #expect([lanes.finished(key), lanes.finished(key), lanes.finished(key)] == [false, false, false])
        #expect(lanes.backlog(key) == 2)
        #expect(lanes.finished(key), "down to the low mark: resume")
        #expect(!lanes.finished(key))
    }
}


@Suite("Retry policy")
struct RetryPolicyTests {
    @Test("backoff grows by the multiplier up to the cap")
    func backoff() {
        let policy = RetryPolicy(attempts: 6, initialBackoff: .milliseconds(100), multiplier: 2, maxBackoff: .milliseconds(500))
        #expect((1...5).map { policy.backoff(after: $0) } == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500)])
    }

    @Test("it round-trips through JSON in milliseconds")
    func codable() throws {
        let policy = RetryPolicy(attempts: 4, initialBackoff: .milliseconds(250), multiplier: 1.5, maxBackoff: .seconds(3))
        let json = try MessageCoding.encode(policy)
        #expect(String(decoding: json, as: UTF8.self) == #"{"attempts":4,"initialBackoffMilliseconds":250,"maxBackoffMilliseconds":3000,"multiplier":1.5}"#)
        #expect(try MessageCoding.decode(RetryPolicy.self, from: json) == policy)
    }
}

@Suite("Topic catalog")
struct TopicCatalogTests {
    @Test("every service and event source has its topics, each with a dead-letter topic")
    func catalog() {
        let topics = Set(TopicCatalog.allTopics)
        for topic in ["payment.commands", "inventory.commands", "shipping.commands", "profile.commands", "orchestrator.replies",
                      "orders.events", "payment.events", "inventory.events", "shipping.events", "profile.events", "orchestrator.events",
                      "orders.events.choreography", "payment.events.choreography", "inventory.events.choreography",
                      "shipping.events.choreography", "profile.events.choreography"] {
            #expect(topics.contains(topic))
            #expect(topics.contains(topic + ".dlq"))
        }
        #expect(topics.count == 32)
        #expect(TopicCatalog.specs.allSatisfy { $0.partitions == 8 })
    }
}
