import Synchronization

/// What `/health/ready` reports: named checks, each ready or not with a reason.
/// Liveness is the process answering at all.
public final class HealthState: Sendable {
    public struct Check: Sendable, Hashable, Codable {
        public var ready: Bool
        public var detail: String
    }

    private let checks = Mutex<[String: Check]>([:])

    public init() {}

    /// Sets check `name`. A service is ready when every check it registered is ready.
    public func set(_ name: String, ready: Bool, detail: String = "") {
        checks.withLock { $0[name] = Check(ready: ready, detail: detail) }
    }

    /// Removes check `name` (a condition that has passed, such as a held partition).
    public func clear(_ name: String) {
        checks.withLock { $0[name] = nil }
    }

    /// The `onHold` callback of a `MessageConsumer`: a held partition is a failing check
    /// named after it until the partition moves again.
    public func partitionHold(partition: String, reason: String?) {
        if let reason {
            set("partition \(partition)", ready: false, detail: reason)
        } else {
            clear("partition \(partition)")
        }
    }

    public var snapshot: [String: Check] { checks.withLock { $0 } }

    public var isReady: Bool {
        let current = snapshot
        return !current.isEmpty && current.values.allSatisfy(\.ready)
    }
}
