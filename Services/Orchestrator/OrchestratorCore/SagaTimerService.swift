import Foundation
import Logging
import ServiceLifecycle

/// Fires saga timers (timeouts, retries) when they are due. Deadlines are stored with each
/// saga, so after a restart every pending timer fires as if nothing happened.
struct SagaTimerService: Service {
    let runner: SagaRunner
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var wait = Duration.seconds(1)
                do {
                    try await runner.runDueTimers()
                    if let deadline = try await runner.earliestDeadline() {
                        let seconds = max(0, min(1, deadline.timeIntervalSinceNow))
                        wait = .milliseconds(Int64(seconds * 1000) + 1)
                    }
                } catch {
                    logger.error("saga timers failed; retrying", metadata: ["error": "\(error)"])
                }
                await runner.waitForTimers(timeout: wait)
            }
        }
    }
}
