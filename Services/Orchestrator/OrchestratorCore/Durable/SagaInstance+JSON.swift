import Foundation
import Messaging

/// The saga state document written out by hand: it is written on every reply (seven times
/// per checkout), and `JSONEncoder` took 330–360 µs for a mid-saga document, the
/// orchestrator's largest single cost (Docs/performance.md). The text is what the
/// synthesized `Encodable` conformance gives under `MessageCoding.encode` — keys sorted,
/// nil members left out — so `JSONDecoder` reads it back unchanged; `SagaStateJSONTests`
/// holds the two to the same bytes. A stored property added to these types must be added
/// here too (the tests fail until it is).
extension SagaInstance {
    public func stateJSON() -> String {
        var writer = JSONWriter(capacity: 6 * 1024)
        write(to: &writer)
        return writer.text
    }

    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("attention", attention)
        writer.key("compensationQueue"); writer.strings(compensationQueue)
        writer.key("completions"); writer.number(completions)
        writer.key("createdAt"); writer.date(createdAt)
        writer.key("customerID"); writer.string(customerID)
        writer.key("data"); data.write(to: &writer)
        writer.key("definitionName"); writer.string(definitionName)
        writer.key("definitionVersion"); writer.number(definitionVersion)
        writer.member("failure", failure)
        writer.member("finishedAt", finishedAt)
        writer.key("history")
        writer.beginArray()
        for event in history { event.write(to: &writer) }
        writer.endArray()
        writer.key("id"); writer.string(id)
        writer.key("stage"); writer.number(stage)
        writer.key("status"); writer.string(status.rawValue)
        writer.key("steps")
        writer.beginObject()
        for (name, step) in steps.sorted(by: { $0.key < $1.key }) {
            writer.key(name)
            step.write(to: &writer)
        }
        writer.endObject()
        writer.key("storedHistory"); writer.number(storedHistory)
        writer.member("traceparent", traceparent)
        writer.key("updatedAt"); writer.date(updatedAt)
        writer.endObject()
    }
}

extension StepState {
    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("attempts")
        writer.beginArray()
        for attempt in attempts { attempt.write(to: &writer) }
        writer.endArray()
        writer.member("completedSequence", completedSequence)
        writer.member("deadline", deadline)
        writer.member("finishedAt", finishedAt)
        writer.member("outcome", outcome)
        writer.member("pendingMessageID", pendingMessageID)
        writer.member("resumed", resumed)
        writer.member("startedAt", startedAt)
        writer.key("status"); writer.string(status.rawValue)
        writer.member("stuckSince", stuckSince)
        writer.member("uncertain", uncertain)
        writer.key("usingFallback"); writer.bool(usingFallback)
        writer.endObject()
    }
}

extension StepAttempt {
    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("command"); writer.string(command)
        writer.key("fallback"); writer.bool(fallback)
        writer.member("finishedAt", finishedAt)
        writer.member("messageID", messageID)
        writer.key("number"); writer.number(number)
        writer.member("result", result)
        writer.key("sentAt"); writer.date(sentAt)
        writer.endObject()
    }
}

extension SagaEvent {
    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("at"); writer.date(at)
        writer.member("detail", detail)
        writer.key("event"); writer.string(event.rawValue)
        writer.member("step", step)
        writer.endObject()
    }
}
