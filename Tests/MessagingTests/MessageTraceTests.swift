import Contracts
import Foundation
import Logging
import Messaging
import Testing

@Suite("Trace context while a message is handled")
struct MessageTraceTests {
    @Test("while a message is handled its trace is the task's: log lines name it, messages sent continue it; outside, nothing")
    func handling() async throws {
        let envelope = try Envelope(StockReserved(orderID: "o1"), correlationID: "o1")
        let (trace, span) = try #require(Envelope.traceIDs(of: envelope.traceparent))
        #expect(MessageTrace.current == nil)
        #expect(MessageTrace.metadataProvider.get().isEmpty)
        let seen = try await MessageTrace.handling(envelope, consumer: "test") { () -> (Logger.Metadata, String) in
            (MessageTrace.metadataProvider.get(), try envelope.reaction(StockReleased(orderID: "o1", lines: [])).traceparent ?? "")
        }
        #expect(seen.0[LogKey.traceID] == "\(trace)")
        #expect(seen.0[LogKey.spanID] == "\(span)")
        let sent = try #require(Envelope.traceIDs(of: seen.1))
        #expect(sent.trace == trace && sent.span != span, "the same trace, a span of its own")
        #expect(MessageTrace.current == nil)
    }
}
