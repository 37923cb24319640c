import Contracts
import Foundation
import Messaging

/// What the orchestrator knows about each participant command: how to build it from saga
/// data, what its replies mean, and which data its success provides. Definitions name
/// commands; this is the code behind the names.
public struct CommandCatalog: Sendable {
    /// How a reply ends a step attempt.
    public enum Outcome: Sendable, Hashable {
        /// Done; merge `updates` into the saga data.
        case success(updates: [String: JSONValue])
        /// A business refusal: retrying cannot help; the saga compensates.
        case rejected(reason: String)
        /// A technical failure: retry, fall back, or give up.
        case failed(reason: String)

        public var isTechnicalFailure: Bool {
            if case .failed = self { return true }
            return false
        }
    }

    public struct Entry: Sendable {
        /// The command's `message-type`.
        public let messageType: String
        public let participant: ServiceName
        /// Whether the command's effect must be undone when a later step fails.
        public let changesState: Bool
        public let build: @Sendable (_ data: JSONValue) throws -> any MessageContract
        /// Data paths a success of this command sets.
        public let provides: [String]

        /// The entry of command type `C`: its participant and nature come from the type.
        public init<C: Command>(_ type: C.Type, provides: [String] = [], build: @escaping @Sendable (_ data: JSONValue) throws -> C) {
            messageType = C.messageType
            participant = C.service
            changesState = C.changesState
            self.provides = provides
            self.build = { try build($0) }
        }
    }

    public let commands: [String: Entry]
    /// Reply interpreters by reply `message-type`.
    public let replies: [String: @Sendable (Envelope) throws -> Outcome]

    public static let participants = Set(ServiceName.participants)

    /// Data every saga starts with (see `OrderRequest.sagaData`).
    public static let initialPaths = ["order.id", "order.customerId", "order.items", "order.total", "order.shipTo", "payment.card", "payment.processor", "payment.billingName", "payment.billingPhone"]

    public struct BuildError: Error, CustomStringConvertible {
        public let description: String
    }

    static func require<T: Decodable>(_ data: JSONValue, _ path: String, as type: T.Type) throws -> T {
        guard let value = data[path: path] else { throw BuildError(description: "saga data has no '\(path)'") }
        do {
            return try value.decode(T.self)
        } catch {
            throw BuildError(description: "saga data '\(path)' is not a \(T.self): \(value)")
        }
    }

    /// The checkout's commands and replies.
    public static let standard: CommandCatalog = {
        @Sendable func order(_ data: JSONValue) throws -> String { try require(data, "order.id", as: String.self) }
        let entries: [Entry] = [
            Entry(VerifyCustomer.self, provides: ["customer.tier"]) { data in
                VerifyCustomer(customerID: try require(data, "order.customerId", as: String.self))
            },
            Entry(ReserveStock.self, provides: ["inventory.reserved"]) { data in
                ReserveStock(orderID: try order(data), lines: try require(data, "order.items", as: [OrderLine].self))
            },
            Entry(ReleaseStock.self) { ReleaseStock(orderID: try order($0)) },
            Entry(CommitStock.self) { CommitStock(orderID: try order($0)) },
            Entry(AuthorizePayment.self, provides: ["payment.authorizationId"]) { data in
                let processor = data[path: "payment.processor"]?.string.flatMap(PaymentProcessor.init(rawValue:)) ?? .primary
                return AuthorizePayment(
                    orderID: try order(data), customerID: try require(data, "order.customerId", as: String.self),
                    amount: try require(data, "order.total", as: Money.self), card: PaymentCard(try require(data, "payment.card", as: String.self)),
                    processor: processor, billingName: data[path: "payment.billingName"]?.string, billingPhone: data[path: "payment.billingPhone"]?.string
                )
            },
            Entry(CapturePayment.self) { CapturePayment(orderID: try order($0)) },
            Entry(VoidPayment.self) { VoidPayment(orderID: try order($0)) },
            Entry(RefundPayment.self) { RefundPayment(orderID: try order($0)) },
            Entry(ReversePayment.self) { ReversePayment(orderID: try order($0)) },
            Entry(ScheduleShipment.self, provides: ["shipping.trackingNumber"]) { data in
                ScheduleShipment(
                    orderID: try order(data), shipTo: try require(data, "order.shipTo", as: Address.self),
                    priority: data[path: "shipping.priority"]?.bool ?? false, free: data[path: "shipping.free"]?.bool ?? false
                )
            },
            Entry(CancelShipment.self) { CancelShipment(orderID: try order($0)) },
        ]
        let commands = Dictionary(uniqueKeysWithValues: entries.map { ($0.messageType, $0) })
        let replies: [String: @Sendable (Envelope) throws -> Outcome] = [
            CustomerVerified.messageType: { .success(updates: ["customer.tier": .string(try $0.decode(CustomerVerified.self).tier.rawValue)]) },
            CustomerRejected.messageType: { .rejected(reason: "customer \(try $0.decode(CustomerRejected.self).reason.rawValue)") },
            StockReserved.messageType: { _ in .success(updates: ["inventory.reserved": .bool(true)]) },
            StockReservationFailed.messageType: { .rejected(reason: "out of stock: \(try $0.decode(StockReservationFailed.self).shortSKUs.joined(separator: ", "))") },
            StockReleased.messageType: { _ in .success(updates: [:]) },
            StockCommitted.messageType: { _ in .success(updates: [:]) },
            PaymentAuthorized.messageType: { envelope in
                let reply = try envelope.decode(PaymentAuthorized.self)
                return .success(updates: ["payment.authorizationId": .string(reply.authorizationID), "payment.authorizedBy": .string(reply.processor.rawValue)])
            },
            PaymentDeclined.messageType: { .rejected(reason: "payment declined: \(try $0.decode(PaymentDeclined.self).reason)") },
            PaymentFailed.messageType: { .failed(reason: try $0.decode(PaymentFailed.self).reason) },
            PaymentCaptured.messageType: { _ in .success(updates: ["payment.captured": .bool(true)]) },
            PaymentVoided.messageType: { _ in .success(updates: [:]) },
            PaymentRefunded.messageType: { _ in .success(updates: [:]) },
            ShipmentScheduled.messageType: { envelope in
                let reply = try envelope.decode(ShipmentScheduled.self)
                return .success(updates: [
                    "shipping.trackingNumber": .string(reply.trackingNumber), "shipping.carrier": .string(reply.carrier),
                    "shipping.fee": .string(reply.fee.description),
                ])
            },
            ShipmentCancelled.messageType: { _ in .success(updates: [:]) },
            CommandFailed.messageType: { .failed(reason: try $0.decode(CommandFailed.self).reason) },
            CommandRejected.messageType: { envelope in
                let reply = try envelope.decode(CommandRejected.self)
                return .rejected(reason: "\(reply.service) refused \(reply.commandType): \(reply.reason)")
            },
        ]
        return CommandCatalog(commands: commands, replies: replies)
    }()
}
