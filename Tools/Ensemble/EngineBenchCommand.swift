import ArgumentParser
import Contracts
import Foundation
import Kafka
import Messaging
import OrchestratorCore
import Storage

/// `ensemble bench engine`: the orchestrator's CPU work per saga without any I/O — the
/// engine itself, and the codings every message and every saga write pays.
struct EngineBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Saga steps per second in memory (no broker, no database), and the cost of the codings around them.",
        discussion: """
        Drives --sagas happy checkouts through the saga engine with canned replies (start,
        then one reply per step: seven inputs each), then times, --samples times each, what
        surrounds every input in the running orchestrator: the saga document written and read
        as JSON, an envelope built and read back from its Kafka record, and a timestamp
        written and read (this project's RFC 3339 code and Foundation's, side by side).
        """
    )

    @Option(help: "Checkouts to drive through the engine.")
    var sagas = 20_000

    @Option(help: "Repetitions of each coding measurement.")
    var samples = 20_000

    @Flag(help: "Print one JSON object on standard output instead of the table.")
    var json = false

    func validate() throws {
        guard sagas > 0, samples > 0 else { throw ValidationError("--sagas and --samples must be positive") }
    }

    struct Result: Codable {
        var sagas: Int
        var sagasPerSecond: Double
        var inputsPerSecond: Double
        var microsecondsPerInput: Double
        var sagaDocumentBytes: Int
        /// The saga document as the store writes it (`SagaInstance.stateJSON`).
        var sagaWriteMicroseconds: Double
        /// The same document through the synthesized conformance and `MessageCoding.encode`
        /// (`SortedJSONEncoder`, what every message body and stored document goes through).
        var sagaEncodeMicroseconds: Double
        /// The same through Foundation's `JSONEncoder` with the same settings.
        var sagaFoundationEncodeMicroseconds: Double
        var sagaDecodeMicroseconds: Double
        var envelopeBuildMicroseconds: Double
        var envelopeReadMicroseconds: Double
        var timestampWriteMicroseconds: Double
        var timestampReadMicroseconds: Double
        var foundationTimestampWriteMicroseconds: Double
        var foundationTimestampReadMicroseconds: Double

        var table: String {
            TextTable(title: "ensemble bench engine — \(sagas) checkouts in memory", columns: ["measure", "value"], rows: [
                ["engine", "\(format(sagasPerSecond, 0)) sagas/s, \(format(inputsPerSecond, 0)) inputs/s (\(format(microsecondsPerInput, 2)) µs per input)"],
                ["saga document (mid-saga, \(sagaDocumentBytes) bytes)", "write \(format(sagaWriteMicroseconds, 1)) µs (SortedJSONEncoder \(format(sagaEncodeMicroseconds, 1)) µs, Foundation's JSONEncoder \(format(sagaFoundationEncodeMicroseconds, 1)) µs), decode \(format(sagaDecodeMicroseconds, 1)) µs"],
                ["envelope (a command)", "build \(format(envelopeBuildMicroseconds, 1)) µs, read from its record \(format(envelopeReadMicroseconds, 1)) µs"],
                ["timestamp, RFC3339", "write \(format(timestampWriteMicroseconds, 3)) µs, read \(format(timestampReadMicroseconds, 3)) µs"],
                ["timestamp, Foundation", "write \(format(foundationTimestampWriteMicroseconds, 3)) µs, read \(format(foundationTimestampReadMicroseconds, 3)) µs"],
            ]).rendered
        }
    }

    func run() async throws {
        let engine = SagaEngine()
        let definition = CheckoutDefinition.definition
        let request = OrderRequest(
            customerID: "bob", items: [.init(sku: "SKU-COFFEE", quantity: 2, unitPrice: Money("12.50")!)],
            payment: .init(card: "4111111111111111"),
            shipTo: Address(name: "Bob Example", line1: "2 Oak Ave", city: "Springfield", postalCode: "12345", country: "US")
        )
        let start = Date()
        // Each command's reply, read once as the orchestrator reads it: the engine's work is what is timed.
        var outcomes: [String: (String, CommandCatalog.Outcome)] = [:]
        for (type, reply) in Self.replies {
            let envelope = try Envelope(reply, correlationID: "o0")
            guard let interpret = engine.catalog.replies[envelope.messageType] else { throw ValidationError("no interpreter for \(envelope.messageType)") }
            outcomes[type] = (envelope.messageType, try interpret(envelope))
        }
        var midSaga: SagaInstance?
        let clock = ContinuousClock()
        var inputs = 0
        let elapsed = try clock.measure {
            for index in 0..<sagas {
                var saga = SagaInstance(id: "o\(index)", definition: definition, customerID: "bob", data: try request.sagaData(orderID: "o\(index)"), now: start)
                var pending = engine.start(&saga, definition, now: start)
                inputs += 1
                while let command = pending.first {
                    pending.removeFirst()
                    guard let (type, outcome) = outcomes[type(of: command.message).messageType] else {
                        throw ValidationError("no canned reply to \(type(of: command.message).messageType)")
                    }
                    pending += engine.reply(&saga, definition, causationID: command.messageID, messageType: type, outcome: outcome, now: start)
                    inputs += 1
                    if index == 0, command.step == "schedule-shipment" { midSaga = saga }
                }
                guard saga.status == .completed else { throw ValidationError("checkout \(index) ended \(saga.status.rawValue)") }
            }
        }
        let seconds = elapsed.seconds

        // Codings, on a saga half way through and on one of its commands.
        let document = try require(midSaga, "no saga reached the shipment")
        let text = document.stateJSON()
        let write = try Self.time(samples) { _ in _ = document.stateJSON() }
        let encode = try Self.time(samples) { _ in _ = try StorageJSON.encode(document) }
        let foundation = JSONEncoder()
        foundation.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        foundation.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        let foundationEncode = try Self.time(samples) { _ in _ = try foundation.encode(document) }
        let decode = try Self.time(samples) { _ in _ = try MessageCoding.decode(SagaInstance.self, from: Data(text.utf8)) }
        let command = ScheduleShipment(orderID: "o0", shipTo: request.shipTo)
        let build = try Self.time(samples) { _ in _ = try Envelope(command, correlationID: "o0", causationID: UUID(), replyTo: "orchestrator.replies") }
        let envelope = try Envelope(command, correlationID: "o0", causationID: UUID(), replyTo: "orchestrator.replies")
        let produced = envelope.record(topic: "shipping.commands")
        let record = KafkaConsumerMessage(topic: produced.topic, partition: 0, offset: 0, key: produced.key, value: produced.value, headers: produced.headers, timestamp: nil)
        let read = try Self.time(samples) { _ in _ = try Envelope(record: record) }
        // Distinct instants and texts (a formatter may remember its last answer).
        let now = Date()
        let instants = (0..<1000).map { now.addingTimeInterval(Double($0) * 1.001) }
        let stamps = instants.map(RFC3339.format)
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let result = Result(
            sagas: sagas,
            sagasPerSecond: Double(sagas) / seconds,
            inputsPerSecond: Double(inputs) / seconds,
            microsecondsPerInput: seconds * 1e6 / Double(inputs),
            sagaDocumentBytes: text.utf8.count,
            sagaWriteMicroseconds: write, sagaEncodeMicroseconds: encode, sagaFoundationEncodeMicroseconds: foundationEncode, sagaDecodeMicroseconds: decode,
            envelopeBuildMicroseconds: build, envelopeReadMicroseconds: read,
            timestampWriteMicroseconds: try Self.time(samples) { _ = RFC3339.format(instants[$0 % 1000]) },
            timestampReadMicroseconds: try Self.time(samples) { _ = RFC3339.parse(stamps[$0 % 1000]) },
            foundationTimestampWriteMicroseconds: try Self.time(samples) { _ = instants[$0 % 1000].formatted(style) },
            foundationTimestampReadMicroseconds: try Self.time(samples) { _ = try style.parse(stamps[$0 % 1000]) }
        )
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            print(result.table)
        }
    }

    /// Microseconds per call of `body`, over `count` calls.
    private static func time(_ count: Int, _ body: (Int) throws -> Void) throws -> Double {
        let elapsed = try ContinuousClock().measure {
            for index in 0..<count { try body(index) }
        }
        return elapsed.seconds * 1e6 / Double(count)
    }

    /// The successful answer each checkout command gets from its participant, by the command's type.
    private static let replies: [String: any MessageContract] = [
        VerifyCustomer.messageType: CustomerVerified(customerID: "bob", tier: .standard),
        ReserveStock.messageType: StockReserved(orderID: "o0"),
        AuthorizePayment.messageType: PaymentAuthorized(orderID: "o0", authorizationID: "AUTH-1", amount: Money("25.00")!, processor: .primary),
        ScheduleShipment.messageType: ShipmentScheduled(orderID: "o0", carrier: "GLS", trackingNumber: "TRK-1", labelReference: "L-1", fee: Money("5.00")!, priority: false),
        CapturePayment.messageType: PaymentCaptured(orderID: "o0", amount: Money("25.00")!),
        CommitStock.messageType: StockCommitted(orderID: "o0", lines: []),
    ]
}

extension Duration {
    /// This duration in seconds, as a floating-point number.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Unwraps `value` or stops the command with `message`.
func require<T>(_ value: T?, _ message: String) throws -> T {
    guard let value else { throw ValidationError(message) }
    return value
}
