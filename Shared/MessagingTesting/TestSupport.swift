import Synchronization

/// A `Mutex` in a class, so tests can share it with the closures they create.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) {
        mutex = Mutex(value)
    }

    public func withLock<Result: Sendable>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try mutex.withLock { try body(&$0) }
    }
}

/// Polls `condition` every few milliseconds; throws `WaitTimedOut` (failing the test)
/// after `timeout` (a deadline, generous because a full run shares two cores between
/// every suite and the stacks some of them start).
public func waitUntil(timeout: Duration = .seconds(20), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw WaitTimedOut(timeout: timeout) }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// A condition a test waited for did not come true in time.
public struct WaitTimedOut: Error, CustomStringConvertible {
    public let timeout: Duration
    public var description: String { "condition not met within \(timeout)" }
}
