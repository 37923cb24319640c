import Foundation
import NIOCore

/// Lets the consumer's poll thread block until the application wants more messages,
/// or until it has handled everything buffered.
///
/// Every field is read and written with `condition` held; that lock is what the
/// `@unchecked Sendable` relies on. The poll thread waits on the condition; the
/// async side only signals it, never waits.
final class ConsumerSignals: @unchecked Sendable {
    private let condition = NSCondition()
    private var demandEpoch = 0
    private var terminated = false
    /// Messages the application took out of the sequence and is still working on.
    private var outstanding = 0

    /// A token to pass to `waitForDemand(after:)`, read before yielding a message.
    var epoch: Int {
        condition.lock()
        defer { condition.unlock() }
        return demandEpoch
    }

    func demandArrived() {
        condition.lock()
        demandEpoch += 1
        condition.broadcast()
        condition.unlock()
    }

    func sequenceTerminated() {
        condition.lock()
        terminated = true
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until demand arrived after `epoch`, the sequence ended, or `timeout` passed.
    /// Returns whether the poll thread may go on producing.
    func waitForDemand(after epoch: Int, timeout: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if demandEpoch == epoch && !terminated {
            _ = condition.wait(until: Date(timeIntervalSinceNow: timeout))
        }
        return demandEpoch != epoch || terminated
    }

    func handlingStarted() {
        condition.lock()
        outstanding += 1
        condition.unlock()
    }

    func handlingFinished() {
        condition.lock()
        outstanding -= 1
        if outstanding <= 0 { condition.broadcast() }
        condition.unlock()
    }

    /// Blocks until the application has consumed every buffered message and finished the
    /// ones it is working on, or `timeout` passed.
    func waitForTermination(timeout: TimeInterval) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !terminated || outstanding > 0 {
            if !condition.wait(until: deadline) { break }
        }
        return terminated && outstanding <= 0
    }
}

/// NIO's hook from the message sequence back to the poll thread.
struct ConsumerSequenceDelegate: NIOAsyncSequenceProducerDelegate {
    let signals: ConsumerSignals

    func produceMore() { signals.demandArrived() }
    func didTerminate() { signals.sequenceTerminated() }
}
