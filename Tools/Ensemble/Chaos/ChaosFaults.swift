import Foundation
import Messaging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A seeded generator (SplitMix64): the same seed picks the same services, actions and
/// intervals, so a run that found something can be told again (what the processes do in
/// between still depends on timing).
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What the chaos run does to a service process.
enum FaultAction: String, Codable, Sendable {
    /// SIGKILL; the supervisor starts it again.
    case kill
    /// SIGSTOP for longer than the consumer session timeout, then SIGCONT: the broker
    /// drops it from its groups, the others take its partitions, and it comes back to
    /// find it was replaced (a network partition, seen from the broker).
    case pause
}

/// One fault done.
struct FaultRecord: Codable, Sendable {
    var atSeconds: Double
    var service: String
    var action: FaultAction
    var pid: Int32
}

/// Kills or pauses a random service of `services` about every `interval` (between half
/// and one and a half times it), until cancelled; then resumes whatever it paused.
final class FaultInjectorLoop: Sendable {
    let services: [ServiceName]
    let interval: Duration
    let pauseShare: Double
    let pauseFor: Duration
    private let processes: ProcessStack
    private let generator: Mutex<SeededGenerator>
    private let records = Mutex<[FaultRecord]>([])
    private let paused = Mutex<Set<String>>([])
    private let started = ContinuousClock.now
    private let say: @Sendable (String) -> Void

    init(
        services: [ServiceName], interval: Duration, pauseShare: Double, pauseFor: Duration, seed: UInt64, processes: ProcessStack,
        say: @escaping @Sendable (String) -> Void
    ) {
        self.services = services
        self.interval = interval
        self.pauseShare = pauseShare
        self.pauseFor = pauseFor
        self.processes = processes
        self.generator = Mutex(SeededGenerator(seed: seed))
        self.say = say
    }

    var done: [FaultRecord] { records.withLock { $0 } }

    /// Faults until the task is cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { resumes in
            while !Task.isCancelled {
                let (wait, service, action) = generator.withLock { random in
                    let wait = interval * Double.random(in: 0.5...1.5, using: &random)
                    let service = services.randomElement(using: &random)!
                    let action: FaultAction = Double.random(in: 0..<1, using: &random) < pauseShare ? .pause : .kill
                    return (wait, service, action)
                }
                do { try await Task.sleep(for: wait) } catch { break }
                let label = service.rawValue
                // A paused process is left alone until it runs again.
                guard !paused.withLock({ $0.contains(label) }) else { continue }
                switch action {
                case .kill:
                    guard let pid = processes.signal(label, SIGKILL) else { continue }
                    record(label, action, pid)
                case .pause:
                    guard let pid = processes.signal(label, SIGSTOP) else { continue }
                    paused.withLock { _ = $0.insert(label) }
                    record(label, action, pid)
                    let pauseFor = self.pauseFor
                    resumes.addTask {
                        // When the run ends first, the sleep ends with it and the process runs again at once.
                        try? await Task.sleep(for: pauseFor)
                        self.resume(label)
                    }
                }
            }
            // Cancelled: the pending resumes happen now.
            await resumes.waitForAll()
        }
        for label in paused.withLock({ Array($0) }) { resume(label) }
    }

    private func resume(_ label: String) {
        processes.signal(label, SIGCONT)
        paused.withLock { _ = $0.remove(label) }
    }

    private func record(_ label: String, _ action: FaultAction, _ pid: Int32) {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        records.withLock { $0.append(FaultRecord(atSeconds: seconds, service: label, action: action, pid: pid)) }
        say("\(action == .kill ? "killed" : "paused") \(label) (pid \(pid))")
    }
}
