import Contracts
import Foundation
import Messaging

/// Where a value came from: the event that set it.
public struct Provenance: Sendable, Hashable, Codable {
    /// The service that published it (`profile`, `payment`, `orders`, ...), or `live:<service>`.
    public var source: String
    public var messageType: String
    public var messageId: String
    public var topic: String?
    public var partition: Int32?
    public var offset: Int64?
    public var occurredAt: Date

    public init(source: String, messageType: String, messageId: String, topic: String?, partition: Int32?, offset: Int64?, occurredAt: Date) {
        self.source = source
        self.messageType = messageType
        self.messageId = messageId
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.occurredAt = occurredAt
    }

    /// The JSON `StorageJSON.encode` writes for it (members in key order, nil ones left
    /// out), written directly: the projection stores one per applied event.
    var json: String {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.member("messageId", messageId)
        writer.member("messageType", messageType)
        writer.member("occurredAt", occurredAt)
        writer.member("offset", offset.map(Int.init))
        writer.member("partition", partition.map(Int.init))
        writer.member("source", source)
        writer.member("topic", topic)
        writer.endObject()
        return writer.text
    }

    init(_ envelope: Envelope, source: ServiceName) {
        self.init(
            source: source.rawValue, messageType: envelope.messageType, messageId: envelope.messageID.lowercasedText,
            topic: envelope.origin?.topic, partition: envelope.origin?.partition, offset: envelope.origin?.offset, occurredAt: envelope.occurredAt
        )
    }
}

/// A merged field: its value and where the winning value came from.
public struct Sourced<Value: Sendable & Hashable & Codable>: Sendable, Hashable, Codable {
    public var value: Value
    public var source: Provenance
}

/// Two or more sources disagree on a field; `winner` is the source the rules chose.
public struct FieldConflict: Sendable, Hashable, Codable {
    public struct Candidate: Sendable, Hashable, Codable {
        public var source: String
        public var value: String
        public var at: Date
    }

    public var field: String
    public var candidates: [Candidate]
    public var winner: String
}

/// Everything known about one customer, merged from every service's events.
public struct CustomerProfile: Sendable, Hashable, Codable {
    public struct Contact: Sendable, Hashable, Codable {
        public var name: Sourced<String>?
        public var email: Sourced<String>?
        public var phone: Sourced<String>?
    }

    public struct KnownAddress: Sendable, Hashable, Codable {
        /// `shipping` or `billing` (from the profile) or `order` (used in an order).
        public var kind: String
        public var address: Address
        public var orderId: String?
        public var source: Provenance
    }

    public struct Billing: Sendable, Hashable, Codable {
        public var orderId: String
        public var cardBrand: String?
        public var cardLast4: String?
        public var billingName: String?
        public var billingPhone: String?
        public var processor: String?
        public var at: Date?
    }

    public struct OrderEntry: Sendable, Hashable, Codable {
        public var orderId: String
        public var status: String
        public var total: Money?
        public var placedAt: Date?
        public var finishedAt: Date?
        public var mode: String?
    }

    public struct MoneySummary: Sendable, Hashable, Codable {
        public var authorized: Money
        public var captured: Money
        public var voided: Money
        public var refunded: Money
        /// Captured minus refunded.
        public var lifetimeValue: Money
    }

    public struct Shipment: Sendable, Hashable, Codable {
        public var orderId: String
        public var carrier: String?
        public var trackingNumber: String?
        public var priority: Bool
        public var fee: Money?
        public var status: String
    }

    public var customerId: String
    public var contact: Contact
    public var tier: Sourced<String>?
    public var blocked: Sourced<Bool>?
    public var shippingAddress: Sourced<Address>?
    public var addresses: [KnownAddress]
    public var billing: [Billing]
    public var orders: [OrderEntry]
    public var money: MoneySummary
    public var shipments: [Shipment]
    public var orderCounts: [String: Int]
    public var conflicts: [FieldConflict]
    /// The newest event that went into this profile.
    public var lastEventAt: Date?
}

/// An order as the events show it: its status and the timeline of every event about it,
/// whether the order ran orchestrated or choreographed.
public struct OrderReadView: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public var at: Date
        public var source: String
        public var type: String
        public var detail: String?
        public var messageId: String
    }

    public var orderId: String
    public var customerId: String?
    public var status: String
    public var mode: String?
    public var total: Money?
    public var placedAt: Date?
    public var finishedAt: Date?
    public var reason: String?
    public var timeline: [Entry]
}

/// One SKU's stock and sales as the events show them.
public struct ProductView: Sendable, Hashable, Codable {
    public var sku: String
    /// The last level set, less what was committed since.
    public var onHand: Int?
    public var reserved: Int
    public var committed: Int
    public var unitsSold: Int
    public var revenue: Money
    /// Orders holding a reservation of this SKU.
    public var openReservations: [String]
}

/// The whole shop at a glance.
public struct Dashboard: Sendable, Hashable, Codable {
    public struct MinuteCount: Sendable, Hashable, Codable {
        public var minute: String
        public var orders: Int
    }

    public struct SKUCount: Sendable, Hashable, Codable {
        public var sku: String
        public var units: Int
    }

    public var ordersPerMinute: [MinuteCount]
    public var ordersByStatus: [String: Int]
    public var revenue: Money
    public var topSKUs: [SKUCount]
    public var lowStock: [SKUCount]
    public var processorShare: [String: Int]
}
