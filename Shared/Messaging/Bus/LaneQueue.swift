import Kafka
import Synchronization

/// The records waiting in one partition's lane. The consumer appends as records arrive;
/// the lane takes everything that has arrived so far (up to its batch size) in one go, so
/// a lane that fell behind catches up in a few large batches instead of one record at a
/// time.
final class LaneQueue: Sendable {
    private struct State {
        var records: [KafkaConsumerMessage] = []
        var waiter: CheckedContinuation<Void, Never>?
        var finished = false
    }

    private let state = Mutex(State())

    func append(_ record: KafkaConsumerMessage) {
        state.withLock { state in
            state.records.append(record)
            return state.waiter.take()
        }?.resume()
    }

    /// No more records will come: `next` returns what is left, then nil.
    func finish() {
        state.withLock { state in
            state.finished = true
            return state.waiter.take()
        }?.resume()
    }

    /// Waits for at least one record and returns up to `limit` of the oldest; nil once the
    /// queue is finished and empty, or when the task is cancelled.
    func next(limit: Int) async -> [KafkaConsumerMessage]? {
        while true {
            let taken: [KafkaConsumerMessage]? = state.withLock { state in
                guard !state.records.isEmpty else { return nil }
                let count = min(max(limit, 1), state.records.count)
                let batch = Array(state.records.prefix(count))
                state.records.removeFirst(count)
                return batch
            }
            if let taken { return taken }
            if Task.isCancelled || state.withLock({ $0.finished && $0.records.isEmpty }) { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if !state.records.isEmpty || state.finished || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                state.withLock { $0.waiter.take() }?.resume()
            }
        }
    }
}
