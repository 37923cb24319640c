import Contracts
import Foundation
import InventoryCore
import Kafka
import Logging
import Messaging
import PaymentCore
import ProfileCore
import SQLKit
import ServiceKit
import ShippingCore
import Storage
import StorageTesting
import Testing

/// One participant over the real broker, on its own topics and a temporary database.
struct KafkaParticipant: Sendable {
    let name: ServiceName
    let settings: HostSettings
    let replies: String
    let producer: KafkaProducer
    let bus: KafkaMessageBus
    let database: @Sendable () async throws -> any Database

    init(_ name: ServiceName) async throws {
        self.name = name
        let run = TestBroker.unique(name.rawValue)
        let settings = HostSettings(service: ServiceConfiguration(serviceName: name.rawValue, httpPort: 0), topics: TopicNames(prefix: "\(run)-", partitions: 2))
        self.settings = settings
        replies = "\(run).replies"
        for topic in [settings.topics.commands(name), settings.topics.events(name), replies, TopicCatalog.deadLetter(for: settings.topics.commands(name))] {
            try await TestBroker.createTopic(topic, partitions: 2)
        }
        let client = try TestBroker.client()
        producer = try KafkaProducer(configuration: .init(client: client), logger: TestBroker.logger)
        bus = KafkaMessageBus(producer: producer, consumerDefaults: KafkaConsumerConfiguration(client: client, groupID: "unused", consumption: .subscribe([])), logger: TestBroker.logger)
        database = TestDatabase.reopenable(run, logger: TestBroker.logger)
    }

    var commandsTopic: String { settings.topics.commands(name) }
    var eventsTopic: String { settings.topics.events(name) }

    var participant: any Participant {
        switch name {
        case "profile": ProfileService()
        case "inventory": InventoryService()
        case "payment": PaymentService()
        default: ShippingService()
        }
    }

    /// Opens the service on its database and runs its consumer (and relay, unless told not to)
    /// while `body` runs.
    func running<T: Sendable>(relay runRelay: Bool = true, _ body: @Sendable (any Database) async throws -> T) async throws -> T {
        let database = try await self.database()
        let host = try await ServiceHost.open(participant, settings: settings, database: database, bus: bus, metrics: nil, logger: TestBroker.logger).host
        let relay = host.relay
        let consumer = try #require(host.consumers.first)
        let result = try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await consumer.run(); return nil }
            if runRelay { group.addTask { try await relay.run(); return nil } }
            let result = try await body(database)
            group.cancelAll()
            return result
        }
        try await database.close()
        return result
    }

    func recorder(_ topic: String) throws -> RecordingConsumer {
        try RecordingConsumer(topic, configuration: KafkaConsumerConfiguration(
            client: try TestBroker.client(), groupID: TestBroker.unique("rec"),
            consumption: .assign((0..<2).map { KafkaTopicPartition(topic: topic, partition: Int32($0), start: .beginning) })
        ))
    }

    /// Writes a marker record to each partition of `topic` and waits until `recorder` has
    /// read them all: in each partition it has then read everything written before.
    func markAndWait(_ recorder: RecordingConsumer, topic: String) async throws {
        let marker = UUID().uuidString
        for partition in 0..<Int32(2) {
            _ = try await producer.send(KafkaProducerMessage(topic: topic, partition: partition, key: "marker", value: Data(),
                                                              headers: [KafkaHeader(key: RecordingConsumer.markerHeader, string: marker)]))
        }
        try await eventually("the markers on \(topic)", timeout: .seconds(20)) {
            recorder.messages.filter { $0.headers.string(for: RecordingConsumer.markerHeader) == marker }.count == 2
        }
    }

    func send(_ envelope: Envelope) async throws {
        try await bus.publish(envelope, to: commandsTopic)
    }
}

/// A command for each service, the reply it should get, and a query whose single value
/// shows the command's effect (with the value expected after it took effect once).
struct ServiceCase: Sendable, CustomStringConvertible {
    let service: String
    let command: @Sendable () throws -> (String, Envelope)
    let replyType: String
    let effect: String
    let expected: Int
    var description: String { service }

    static let all: [ServiceCase] = [
        ServiceCase(service: "profile", command: { ("o-p", try Envelope(VerifyCustomer(customerID: "bob"), correlationID: "o-p")) },
                    replyType: CustomerVerified.messageType, effect: "SELECT COUNT(*) AS n FROM inbox", expected: 1),
        ServiceCase(service: "inventory", command: { ("o-i", try Envelope(ReserveStock(orderID: "o-i", lines: [OrderLine(sku: "SKU-MUG", quantity: 2, unitPrice: 7)]), correlationID: "o-i")) },
                    replyType: StockReserved.messageType, effect: "SELECT reserved AS n FROM stock WHERE sku = 'SKU-MUG'", expected: 2),
        ServiceCase(service: "payment", command: { ("o-y", try Envelope(AuthorizePayment(orderID: "o-y", customerID: "bob", amount: 20, card: .number("4111111111111111")), correlationID: "o-y")) },
                    replyType: PaymentAuthorized.messageType, effect: "SELECT COUNT(*) AS n FROM ledger", expected: 1),
        ServiceCase(service: "shipping", command: { ("o-s", try Envelope(ScheduleShipment(orderID: "o-s", shipTo: Address(name: "B", line1: "1", city: "C", postalCode: "1", country: "US")), correlationID: "o-s")) },
                    replyType: ShipmentScheduled.messageType, effect: "SELECT COUNT(*) AS n FROM shipments", expected: 1),
    ]
}

@Suite("Participants over a real broker", .serialized)
struct ParticipantKafkaTests {
    private func command(_ test: ServiceCase, replyTo: String) throws -> Envelope {
        var (_, envelope) = try test.command()
        envelope.replyTo = replyTo
        return envelope
    }

    @Test("a command gets its reply and its event; sent twice it has one effect and two identical replies", arguments: ServiceCase.all)
    func replyEventAndDuplicate(_ test: ServiceCase) async throws {
        let service = try await KafkaParticipant(ServiceName(rawValue: test.service))
        let replies = try service.recorder(service.replies)
        let events = try service.recorder(service.eventsTopic)
        let command = try command(test, replyTo: service.replies)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await service.producer.run() }
            tasks.addTask { try await replies.run() }
            tasks.addTask { try await events.run() }
            try await service.running { database in
                try await service.send(command)
                try await service.send(command)
                try await eventually("two replies and one event", timeout: .seconds(40)) {
                    replies.messages.count >= 2 && events.messages.count >= 1
                }
                // Everything handled and published, and read back: the recorders have all there is.
                // Everything handled and published; then a marker on every partition: once
                // the recorders have the markers, they have everything written before them.
                try await eventually("the outbox published", timeout: .seconds(20)) {
                    try await database.read { try await Outbox.count(in: $0) } == 0
                }
                try await service.markAndWait(replies, topic: service.replies)
                try await service.markAndWait(events, topic: service.eventsTopic)
                let answers = try replies.unmarked.map { try Envelope(record: $0) }
                #expect(answers.count == 2)
                #expect(answers.allSatisfy { $0.messageType == test.replyType && $0.causationID == command.messageID })
                #expect(answers.first == answers.last, "identical replies: same message id, headers and body")
                // The command's events (the demo data's own events have no causation).
                let published = try events.unmarked.map { try Envelope(record: $0) }.filter { $0.causationID != nil }
                #expect(published.count == 1, "one event")
                #expect(published.first?.messageType == test.replyType)
                let effect = try await database.read { try await $0.raw(SQLQueryString(test.effect)).first()!.decode(column: "n", as: Int.self) }
                #expect(effect == test.expected, "one effect")
            }
            tasks.cancelAll()
        }
    }

    @Test("a poison command lands in the dead-letter topic and the next one is handled", arguments: ServiceCase.all)
    func poison(_ test: ServiceCase) async throws {
        let service = try await KafkaParticipant(ServiceName(rawValue: test.service))
        let replies = try service.recorder(service.replies)
        let letters = try service.recorder(TopicCatalog.deadLetter(for: service.commandsTopic))
        let command = try command(test, replyTo: service.replies)
        var malformed = command
        malformed.messageID = UUID()
        malformed.body = Data(#"{"unexpected": true}"#.utf8)
        let poison = malformed
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await service.producer.run() }
            tasks.addTask { try await replies.run() }
            tasks.addTask { try await letters.run() }
            try await service.running { _ in
                try await service.send(poison)
                try await service.send(command)
                try await eventually("a dead letter and a reply", timeout: .seconds(40)) { letters.messages.count == 1 && replies.messages.count == 1 }
                let letter = try #require(letters.messages.first)
                #expect(letter.headers.string(for: DeadLetterHeader.reason) == "malformed-body")
                #expect(letter.headers.string(for: "message-id") == poison.messageID.uuidString.lowercased())
            }
            tasks.cancelAll()
        }
    }

    @Test("stopped after its transaction, before publishing, it publishes the reply after restart", arguments: ServiceCase.all)
    func restartPublishesOutbox(_ test: ServiceCase) async throws {
        let service = try await KafkaParticipant(ServiceName(rawValue: test.service))
        let replies = try service.recorder(service.replies)
        let command = try command(test, replyTo: service.replies)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await service.producer.run() }
            tasks.addTask { try await replies.run() }
            try await service.running(relay: false) { database in
                let before = try await database.read { try await Outbox.count(in: $0) }
                try await service.send(command)
                try await eventually("the committed transaction", timeout: .seconds(40)) {
                    (try? await database.read { try await Outbox.count(in: $0) }) == before + 2
                }
            }
            try await service.markAndWait(replies, topic: service.replies)
            #expect(replies.unmarked.isEmpty, "nothing published before the restart")
            try await service.running { database in
                try await eventually("the reply after restart", timeout: .seconds(40)) { replies.unmarked.count == 1 }
                let reply = try Envelope(record: try #require(replies.unmarked.first))
                #expect(reply.messageType == test.replyType)
                #expect(reply.causationID == command.messageID)
                try await eventually("the outbox published") { try await database.read { try await Outbox.count(in: $0) } == 0 }
            }
            tasks.cancelAll()
        }
    }
}
