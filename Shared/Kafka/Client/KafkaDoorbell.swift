import Synchronization

/// Wakes this process's dozing consumers when one of its producers produces (see
/// `FetchDoze`). In the one-process stack every record is produced here, so a dozing
/// consumer starts fetching while the record is still on its way to the broker; records
/// from other processes wait for the consumer's next peek.
///
/// A ring with nobody dozing is one atomic load: producers ring on every record.
final class KafkaDoorbell: Sendable {
    static let process = KafkaDoorbell()

    private let sleepers = Mutex<[ObjectIdentifier: @Sendable () -> Void]>([:])
    private let sleeping = Atomic<Int>(0)

    /// Calls every sleeper's wake-up once and forgets them.
    func ring() {
        guard sleeping.load(ordering: .acquiring) > 0 else { return }
        let woken = sleepers.withLock { sleepers in
            defer {
                sleepers.removeAll()
                sleeping.store(0, ordering: .releasing)
            }
            return Array(sleepers.values)
        }
        woken.forEach { $0() }
    }

    /// `id` dozes: call `wake` at the next ring (outside the doorbell's lock).
    func sleep(_ id: ObjectIdentifier, wake: @escaping @Sendable () -> Void) {
        sleepers.withLock { sleepers in
            sleepers[id] = wake
            sleeping.store(sleepers.count, ordering: .releasing)
        }
    }

    /// `id` woke by other means.
    func awake(_ id: ObjectIdentifier) {
        sleepers.withLock { sleepers in
            guard sleepers.removeValue(forKey: id) != nil else { return }
            sleeping.store(sleepers.count, ordering: .releasing)
        }
    }
}
