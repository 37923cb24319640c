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
        public let participant: String
        public let build: @Sendable (_ data: JSONValue) throws -> any MessageContract
        /// Data paths a success of this command sets.
        public let provides: [String]
    }

    public let commands: [String: Entry]
    /// Reply interpreters by reply `message-type`.
    public let replies: [String: @Sendable (Envelope) throws -> Outcome]

    public static let participants: Set<String> = ["profile", "inventory", "payment", "shipping"]

    /// Data every saga starts with (see `OrderRequest.sagaData`).
    public static let initialPaths = ["order.id", "order.customerId", "order.items", "order.total", "order.shipTo", "payment.card", "payment.processor"]

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
        let commands: [String: Entry] = [
            VerifyCustomer.messageType: Entry(participant: "profile", build: { data in
                VerifyCustomer(customerID: try require(data, "order.customerId", as: String.self))
            }, provides: ["customer.tier"]),
            ReserveStock.messageType: Entry(participant: "inventory", build: { data in
                ReserveStock(orderID: try order(data), lines: try require(data, "order.items", as: [OrderLine].self))
            }, provides: ["inventory.reserved"]),
            ReleaseStock.messageType: Entry(participant: "inventory", build: { ReleaseStock(orderID: try order($0)) }, provides: []),
            CommitStock.messageType: Entry(participant: "inventory", build: { CommitStock(orderID: try order($0)) }, provides: []),
            AuthorizePayment.messageType: Entry(participant: "payment", build: { data in
                let processor = data[path: "payment.processor"]?.string.flatMap(PaymentProcessor.init(rawValue:)) ?? .primary
                return AuthorizePayment(
                    orderID: try order(data), customerID: try require(data, "order.customerId", as: String.self),
                    amount: try require(data, "order.total", as: Money.self), cardNumber: try require(data, "payment.card", as: String.self),
                    processor: processor
                )
            }, provides: ["payment.authorizationId"]),
            CapturePayment.messageType: Entry(participant: "payment", build: { CapturePayment(orderID: try order($0)) }, provides: []),
            VoidPayment.messageType: Entry(participant: "payment", build: { VoidPayment(orderID: try order($0)) }, provides: []),
            RefundPayment.messageType: Entry(participant: "payment", build: { RefundPayment(orderID: try order($0)) }, provides: []),
            ReversePayment.messageType: Entry(participant: "payment", build: { ReversePayment(orderID: try order($0)) }, provides: []),
            ScheduleShipment.messageType: Entry(participant: "shipping", build: { data in
                ScheduleShipment(
                    orderID: try order(data), shipTo: try require(data, "order.shipTo", as: Address.self),
                    priority: data[path: "shipping.priority"]?.bool ?? false, free: data[path: "shipping.free"]?.bool ?? false
                )
            }, provides: ["shipping.trackingNumber"]),
            CancelShipment.messageType: Entry(participant: "shipping", build: { CancelShipment(orderID: try order($0)) }, provides: []),
        ]
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
