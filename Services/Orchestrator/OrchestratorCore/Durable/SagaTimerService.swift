import Foundation
import Messaging
import Logging
import ServiceKit
import ServiceLifecycle

/// Fires saga timers (timeouts, retries) when they are due. Deadlines are stored with each
/// saga, so after a restart every pending timer fires as if nothing happened.
///
/// Timeouts only mean something while replies can arrive, so the service starts once the
/// reply consumer owns its partitions, and first gives commands still awaiting replies a
/// fresh timeout (`SagaRunner.resumeUnfinished`): the orchestrator's own downtime or group
/// join is not the participants' fault.
struct SagaTimerService: Service {
    let runner: SagaRunner
    let consuming: Latch
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await consuming.wait()
            guard !Task.isCancelled else { return }
            do {
                try await runner.resumeUnfinished()
            } catch {
                logger.error("resuming unfinished sagas failed; their timers fire as stored", metadata: [LogKey.error: "\(error)"])
            }
            while !Task.isCancelled {
                var wait = Duration.seconds(1)
                do {
                    try await runner.runDueTimers()
                    if let deadline = try await runner.earliestDeadline() {
                        let seconds = max(0, min(1, deadline.timeIntervalSinceNow))
                        wait = .milliseconds(Int64(seconds * 1000) + 1)
                    }
                } catch {
                    logger.error("saga timers failed; retrying", metadata: [LogKey.error: "\(error)"])
                }
                await runner.waitForTimers(timeout: wait)
            }
        }
    }
}
