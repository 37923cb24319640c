import Logging
import Tracing

/// One trace per order, as spans: the handling of each message is a consumer span whose
/// parent is the span that sent the message (its `traceparent`), and each message the
/// handler sends gets a producer span under it (`Envelope.childTraceparent`). With
/// swift-distributed-tracing's no-op tracer (no exporter configured) nothing is recorded,
/// and each message sent gets a span id of its own in the same trace instead.
///
/// The handled message's trace context also stays in the task's `ServiceContext`, so
/// that every log line written while handling it carries `trace_id` and `span_id`
/// (`metadataProvider`), the handler's own lines included.
public enum MessageTrace {
    private enum Key: ServiceContextKey {
        typealias Value = String
        static var nameOverride: String? { "ensemble.traceparent" }
    }

    /// Runs `body` as the span of handling `envelope` for `consumer`.
    public static func handling<T>(_ envelope: Envelope, consumer: String, _ body: () async throws -> T) async throws -> T {
        var parent = ServiceContext.topLevel
        if let traceparent = envelope.traceparent {
            InstrumentationSystem.instrument.extract([EnvelopeHeader.traceparent: traceparent], into: &parent, using: HeaderCarrier())
        }
        return try await withSpan(envelope.messageType, context: parent, ofKind: .consumer) { span in
            span.attributes["messaging.system"] = "kafka"
            span.attributes["messaging.consumer.group.name"] = consumer
            span.attributes["messaging.message.id"] = envelope.messageID.lowercasedText
            span.attributes["ensemble.order.id"] = envelope.correlationID
            var context = span.context
            context[Key.self] = spanTraceparent(in: context) ?? envelope.traceparent
            return try await ServiceContext.withValue(context) { try await body() }
        }
    }

    /// The `traceparent` of the span in `context`, when a tracer that records spans is
    /// installed; nil with the no-op tracer.
    static func spanTraceparent(in context: ServiceContext) -> String? {
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: HeaderCarrier())
        return carrier[EnvelopeHeader.traceparent]
    }

    /// The `traceparent` of what the task is doing now: the recorded span's, else the
    /// message being handled; nil outside both.
    public static var current: String? {
        guard let context = ServiceContext.current else { return nil }
        return spanTraceparent(in: context) ?? context[Key.self]
    }

    /// `trace_id` and `span_id` of what the task is doing now, for every log line.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let (trace, span) = Envelope.traceIDs(of: MessageTrace.current) else { return [:] }
        return [LogKey.traceID: "\(trace)", LogKey.spanID: "\(span)"]
    }

    private struct HeaderCarrier: Extractor, Injector {
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    }
}
