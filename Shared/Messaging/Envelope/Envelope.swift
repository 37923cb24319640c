import Foundation
import Kafka
import Tracing
import W3CTraceContext

/// A message with its envelope: the identity and causality headers of Docs/messages.md
/// around a JSON body.
public struct Envelope: Sendable, Hashable {
    /// Unique per message; the inbox deduplicates on it.
    public var messageID: UUID
    public var messageType: String
    /// The order (saga) id, or the customer id for profile events.
    public var correlationID: String
    /// The `message-id` this message reacts to.
    public var causationID: UUID?
    /// Where a reply goes (commands only).
    public var replyTo: String?
    /// W3C trace context of the span that sent this message.
    public var traceparent: String?
    /// The choreography this message belongs to (`choreography` for a choreographed
    /// checkout), copied to every reaction; nil for everything else. Participants react to
    /// events only when it is set, so an orchestrated order's events never trigger them.
    public var flow: String?
    public var occurredAt: Date
    /// The Kafka key: every message of one order (or customer) lands on one partition.
    public var key: String
    /// The JSON body.
    public var body: Data
    /// Where a consumed message was read; nil for one built to be sent.
    public var origin: Origin?

    /// Two envelopes are equal when the messages are: where they were read is not part of it.
    public static func == (lhs: Envelope, rhs: Envelope) -> Bool {
        lhs.messageID == rhs.messageID && lhs.messageType == rhs.messageType && lhs.correlationID == rhs.correlationID
            && lhs.causationID == rhs.causationID && lhs.replyTo == rhs.replyTo && lhs.traceparent == rhs.traceparent && lhs.flow == rhs.flow
            && lhs.occurredAt == rhs.occurredAt && lhs.key == rhs.key && lhs.body == rhs.body
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(messageID)
        hasher.combine(messageType)
        hasher.combine(body)
    }

    /// A record's place in Kafka.
    public struct Origin: Sendable, Hashable, Codable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64

        public init(topic: String, partition: Int32, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }
    }

    public init(
        messageID: UUID = .timeOrdered(),
        messageType: String,
        correlationID: String,
        causationID: UUID? = nil,
        replyTo: String? = nil,
        traceparent: String? = nil,
        flow: String? = nil,
        occurredAt: Date = Date(),
        key: String? = nil,
        body: Data
    ) {
        self.messageID = messageID
        self.messageType = messageType
        self.correlationID = correlationID
        self.causationID = causationID
        self.replyTo = replyTo
        self.traceparent = traceparent
        self.flow = flow
        self.occurredAt = occurredAt
        self.key = key ?? correlationID
        self.body = body
    }

    /// Wraps `message`, encoding it as JSON. A new trace starts unless `traceparent` is given.
    public init<M: MessageContract>(
        _ message: M,
        correlationID: String,
        causationID: UUID? = nil,
        replyTo: String? = nil,
        traceparent: String? = nil,
        flow: String? = nil,
        key: String? = nil,
        messageID: UUID = .timeOrdered(),
        occurredAt: Date = Date()
    ) throws(MessagingError) {
        let body: Data
        do {
            body = try MessageCoding.encode(message)
        } catch {
            throw MessagingError(code: .encodingFailed, message: "\(M.messageType): \(error)")
        }
        self.init(
            messageID: messageID, messageType: M.messageType, correlationID: correlationID, causationID: causationID,
            replyTo: replyTo, traceparent: traceparent ?? Self.newTraceparent(), flow: flow, occurredAt: occurredAt, key: key, body: body
        )
    }

    /// A message caused by this one: same correlation, trace and flow, `causation-id` set to this message's id.
    public func reaction<M: MessageContract>(_ message: M, replyTo: String? = nil, key: String? = nil) throws(MessagingError) -> Envelope {
        try Envelope(
            message, correlationID: correlationID, causationID: messageID, replyTo: replyTo,
            traceparent: Self.childTraceparent(of: traceparent), flow: flow, key: key ?? self.key
        )
    }

    /// Decodes the body as `M`; a `.malformedBody` error names the offending field.
    public func decode<M: MessageContract>(_ type: M.Type = M.self) throws(MessagingError) -> M {
        do {
            return try MessageCoding.decode(M.self, from: body)
        } catch {
            throw MessagingError(code: .malformedBody, message: "\(messageType): \(MessageCoding.explain(error))")
        }
    }

    // MARK: - Kafka headers

    public var headers: [KafkaHeader] {
        headerPairs.map { KafkaHeader(key: $0.name, string: $0.value) }
    }

    /// The envelope's headers as text, in the order they are sent.
    public var headerPairs: [(name: String, value: String)] {
        var pairs = [
            (EnvelopeHeader.messageID, messageID.lowercasedText),
            (EnvelopeHeader.messageType, messageType),
            (EnvelopeHeader.correlationID, correlationID),
            (EnvelopeHeader.occurredAt, MessageCoding.timestamp(occurredAt)),
        ]
        pairs.reserveCapacity(8)
        if let causationID { pairs.append((EnvelopeHeader.causationID, causationID.lowercasedText)) }
        if let replyTo { pairs.append((EnvelopeHeader.replyTo, replyTo)) }
        if let traceparent { pairs.append((EnvelopeHeader.traceparent, traceparent)) }
        if let flow { pairs.append((EnvelopeHeader.flow, flow)) }
        return pairs
    }

    /// The record to produce to `topic`.
    public func record(topic: String) -> KafkaProducerMessage {
        KafkaProducerMessage(topic: topic, key: key, value: body, headers: headers)
    }

    /// Reads the envelope of a consumed record. Throws `.missingHeader` or `.invalidHeader`.
    public init(record: KafkaConsumerMessage) throws(MessagingError) {
        let headers = record.headers
        func required(_ name: String) throws(MessagingError) -> String {
            guard let value = headers.string(for: name), !value.isEmpty else {
                throw MessagingError(code: .missingHeader, message: "header '\(name)' is missing")
            }
            return value
        }
        func uuid(_ text: String, _ name: String) throws(MessagingError) -> UUID {
            guard let id = UUID(text: text) else {
                throw MessagingError(code: .invalidHeader, message: "header '\(name)' is not a UUID: '\(text)'")
            }
            return id
        }
        let messageID = try uuid(try required(EnvelopeHeader.messageID), EnvelopeHeader.messageID)
        let messageType = try required(EnvelopeHeader.messageType)
        let correlationID = try required(EnvelopeHeader.correlationID)
        let occurredText = try required(EnvelopeHeader.occurredAt)
        guard let occurredAt = MessageCoding.parseTimestamp(occurredText) else {
            throw MessagingError(code: .invalidHeader, message: "header '\(EnvelopeHeader.occurredAt)' is not an RFC 3339 timestamp: '\(occurredText)'")
        }
        var causationID: UUID?
        if let text = headers.string(for: EnvelopeHeader.causationID) {
            causationID = try uuid(text, EnvelopeHeader.causationID)
        }
        self.init(
            messageID: messageID, messageType: messageType, correlationID: correlationID, causationID: causationID,
            replyTo: headers.string(for: EnvelopeHeader.replyTo), traceparent: headers.string(for: EnvelopeHeader.traceparent),
            flow: headers.string(for: EnvelopeHeader.flow), occurredAt: occurredAt, key: record.keyString ?? correlationID, body: record.value
        )
        origin = Origin(topic: record.topic, partition: record.partition, offset: record.offset)
    }

    // MARK: - Trace context

    /// A new trace (W3C `traceparent`, sampled).
    public static func newTraceparent() -> String {
        TraceContext(traceID: .random(), spanID: .random(), flags: .sampled, state: TraceState()).traceParentHeaderValue
    }

    /// The `traceparent` of a message sent now, a child of `parent` in the same trace:
    /// when a span of that trace is being recorded (`MessageTrace`), a producer span of its
    /// own under it (`send`, ended at once: the message's place in the exported tree), else
    /// a new span id; a new trace when `parent` is missing or invalid.
    public static func childTraceparent(of parent: String?) -> String {
        guard let parent, let context = try? TraceContext(traceParentHeaderValue: parent) else { return newTraceparent() }
        if recordedSpan(inTraceOf: context) != nil, let current = ServiceContext.current {
            let span = InstrumentationSystem.tracer.startAnySpan("send", context: current, ofKind: .producer)
            defer { span.end() }
            if let sent = MessageTrace.spanTraceparent(in: span.context) { return sent }
        }
        return TraceContext(traceID: context.traceID, spanID: .random(), flags: context.flags, state: context.state).traceParentHeaderValue
    }

    /// `parent` when it is a valid `traceparent` (a caller's, to continue) — or the span
    /// being recorded now when it continues that trace (the HTTP request's) — else the
    /// recorded span's trace, else a new trace.
    public static func continuing(_ parent: String?) -> String {
        guard let parent, let context = try? TraceContext(traceParentHeaderValue: parent) else {
            return ServiceContext.current.flatMap(MessageTrace.spanTraceparent) ?? newTraceparent()
        }
        return recordedSpan(inTraceOf: context) ?? parent
    }

    private static func recordedSpan(inTraceOf context: TraceContext) -> String? {
        guard let current = ServiceContext.current, let active = MessageTrace.spanTraceparent(in: current),
              let activeContext = try? TraceContext(traceParentHeaderValue: active), activeContext.traceID == context.traceID else { return nil }
        return active
    }

    /// The trace id and span id of a `traceparent`, for log lines and views.
    public static func traceIDs(of traceparent: String?) -> (trace: String, span: String)? {
        guard let traceparent, let context = try? TraceContext(traceParentHeaderValue: traceparent) else { return nil }
        return ("\(context.traceID)", "\(context.spanID)")
    }
}
