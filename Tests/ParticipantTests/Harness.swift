import Contracts
import Foundation
import Logging
import Messaging
import MessagingTesting
import ServiceKit
import Storage
import StorageTesting
import Testing

/// Runs one participant over the in-memory bus with a temporary SQLite file.
struct Harness: Sendable {
    static let replies = "test.replies"
    let bus: InMemoryMessageBus
    let database: any Database
    let relay: OutboxRelay
    /// The service's consumer: its commands and the events it reacts to in the
    /// choreographed checkout, in one group.
    let consumer: MessageConsumer
    /// Every consumer the service added (one today: `consumer`).
    let consumers: [MessageConsumer]
    let name: ServiceName
    let topics: TopicNames
    let context: ParticipantContext
    /// The routes the service registered (its HTTP API).
    let routes: [ServiceRoutes.Entry]

    var commandsTopic: String { topics.commands(name) }
    var eventsTopic: String { topics.events(name) }
    /// Where its reactions in the choreographed checkout publish.
    var choreographyEventsTopic: String { topics.choreographyEvents(name) }
    var groupID: String { topics.group("ensemble-\(name)") }

    static func make(_ participant: some Participant, faults: FaultPlan = .none, database: (any Database)? = nil, bus: InMemoryMessageBus = InMemoryMessageBus()) async throws -> Harness {
        var logger = Logger(label: "test.\(participant.name)")
        logger.logLevel = .error
        let database = if let database { database } else { try await TestDatabase.open("participant", logger: logger) }
        var settings = HostSettings(service: ServiceConfiguration(serviceName: participant.name.rawValue, httpPort: 0), faults: faults)
        settings.service.logLevel = .error
        let (host, context) = try await ServiceHost.open(participant, settings: settings, database: database, bus: bus, metrics: nil, logger: logger)
        return Harness(bus: bus, database: database, relay: host.relay, consumer: try #require(host.consumers.first), consumers: host.consumers, name: participant.name, topics: settings.topics, context: context, routes: host.routes.table)
    }

    static func temporaryDatabasePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ensemble-test-\(UUID().uuidString).sqlite").path
    }

    /// Runs the consumer and the outbox relay while `body` runs.
    func running<T: Sendable>(relay runRelay: Bool = true, _ body: @Sendable (Harness) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            for consumer in consumers { group.addTask { try await consumer.run(); return nil } }
            if runRelay { group.addTask { try await relay.run(); return nil } }
            let result = try await body(self)
            group.cancelAll()
            return result
        }
    }

    /// Publishes `command` to the service's commands topic, replying to `test.replies`.
    @discardableResult
    func send(_ command: some MessageContract, correlation: String, messageID: UUID = UUID()) async throws -> Envelope {
        let envelope = try Envelope(command, correlationID: correlation, replyTo: Self.replies, messageID: messageID)
        try await bus.publish(envelope, to: commandsTopic)
        return envelope
    }

    /// Publishes the same envelope again (a redelivery).
    func resend(_ envelope: Envelope) async throws {
        try await bus.publish(envelope, to: commandsTopic)
    }

    /// The replies to `command`, waiting until there are `count` of them.
    func replies(to command: Envelope, count: Int = 1, timeout: Duration = .seconds(20)) async throws -> [Envelope] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let found = bus.envelopes(in: Self.replies).filter { $0.causationID == command.messageID }
            if found.count >= count { return found }
            guard ContinuousClock.now < deadline else {
                throw HarnessTimeout(what: "\(count) replies to \(command.messageType), got \(found.count)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The single reply to `command`, decoded as `M`.
    func reply<M: MessageContract>(to command: Envelope, as type: M.Type) async throws -> M {
        let envelope = try #require(try await replies(to: command).first)
        #expect(envelope.messageType == M.messageType, "reply type")
        return try envelope.decode(M.self)
    }

    /// The events the commands caused (the demo data's own events left out).
    var events: [Envelope] { bus.envelopes(in: eventsTopic).filter { $0.causationID != nil } }

    var deadLetters: [Envelope] { bus.envelopes(in: TopicCatalog.deadLetter(for: commandsTopic)) }

    func outboxCount() async throws -> Int {
        try await database.read { try await Outbox.count(in: $0) }
    }
}

struct HarnessTimeout: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls until `condition` holds or fails the test after `timeout` (generous: a deadline, not a wait; on PostgreSQL with every suite in parallel a reply was seen to take over 5 s).
func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw HarnessTimeout(what: what) }
        try await Task.sleep(for: .milliseconds(5))
    }
}
