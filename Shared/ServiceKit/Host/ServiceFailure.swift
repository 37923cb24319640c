import Synchronization
import ServiceLifecycle

/// A fatal failure of one service in a process that runs several (`ensemble up`): code
/// that finds the service unable to go on calls `fail(_:)`, and the service's
/// `watcher` throws it, ending that service's group so its supervisor restarts it.
public final class ServiceFailure: Sendable {
    private let latch = Latch()
    private let reason = Mutex<String?>(nil)
    private let downFor = Mutex<Duration?>(nil)

    public init() {}

    public func fail(_ why: String) {
        reason.withLock { if $0 == nil { $0 = why } }
        latch.open()
    }

    /// Stops the service on purpose for `duration` (`POST /admin/stop`, the comparison's
    /// failure run): its supervisor restarts it once the time is up.
    public func stop(for duration: Duration, _ why: String) {
        downFor.withLock { if $0 == nil { $0 = duration } }
        fail(why)
    }

    public var hasFailed: Bool { latch.isOpen }

    /// A `Service` that waits for `fail(_:)` and then throws its reason.
    public var watcher: any Service { Watcher(failure: self) }

    private struct Watcher: Service {
        let failure: ServiceFailure

        func run() async throws {
            await cancelWhenGracefulShutdown {
                await failure.latch.wait()
            }
            guard failure.hasFailed else { return }
            let reason = failure.reason.withLock { $0 } ?? "the service failed"
            if let duration = failure.downFor.withLock({ $0 }) { throw ServiceStopped(reason: reason, downFor: duration) }
            throw ServiceKitError(code: .serviceFailed, message: reason)
        }
    }
}

/// A service stopped on purpose for a while (not a failure): its supervisor waits
/// `downFor` before starting it again.
public struct ServiceStopped: Error, CustomStringConvertible {
    public let reason: String
    public let downFor: Duration
    public var description: String { reason }
}
