import Synchronization

/// A group commit in progress: while a consumer handles a batch of records inside
/// `Database.batch`, every `transaction` its handlers open on that database runs as a
/// savepoint of one database transaction, which commits once when the batch ends.
///
/// Work that must only happen once the effects are durable — waking the outbox relay,
/// signalling timers — is queued with `Database.afterCommit` and runs after that commit
/// (at once outside a batch). If the commit fails, nothing of the batch happened and the
/// queued work is dropped.
final class TransactionBatch: Sendable {
    /// The store the batch belongs to (a batch on one database leaves others alone).
    let store: ObjectIdentifier

    private struct State {
        /// Whether the database transaction is open (it opens with the first write).
        var open = false
        /// Set when the batch ended: a task that inherited it (an unstructured `Task`
        /// started inside) then runs its transactions on its own.
        var ended = false
        var afterCommit: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())
    /// One savepoint at a time: a handler's child tasks share the batch's connection.
    let turn = AsyncLock()

    @TaskLocal static var current: TransactionBatch?

    init(store: some Database & AnyObject) {
        self.store = ObjectIdentifier(store)
    }

    /// The batch in progress on `store` in this task, if any.
    static func current(on store: some Database & AnyObject) -> TransactionBatch? {
        guard let batch = current, batch.store == ObjectIdentifier(store), !batch.state.withLock({ $0.ended }) else { return nil }
        return batch
    }

    var isOpen: Bool { state.withLock { $0.open } }

    func markOpen() { state.withLock { $0.open = true } }

    /// Every savepoint of a batch has this name: one is released before the next begins.
    static let savepoint = "batch_item"

    func queue(_ action: @escaping @Sendable () -> Void) {
        state.withLock { $0.afterCommit.append(action) }
    }

    /// Ends the batch; returns the work queued for after its commit.
    func end() -> [@Sendable () -> Void] {
        state.withLock { state in
            state.ended = true
            defer { state.afterCommit.removeAll() }
            return state.afterCommit
        }
    }
}
