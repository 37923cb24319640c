import Synchronization
import ServiceLifecycle

/// A fatal failure of one service in a process that runs several (`ensemble up`): code
/// that finds the service unable to go on calls `fail(_:)`, and the service's
/// `watcher` throws it, ending that service's group so its supervisor restarts it.
public final class ServiceFailure: Sendable {
    private let latch = Latch()
    private let reason = Mutex<String?>(nil)

    public init() {}

    public func fail(_ why: String) {
        reason.withLock { if $0 == nil { $0 = why } }
        latch.open()
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
            throw ServiceKitError(code: .serviceFailed, message: failure.reason.withLock { $0 } ?? "the service failed")
        }
    }
}
