import Contracts
import Foundation
import Messaging
import ServiceKit
import Synchronization

/// The two simulated card processors, each with its own faults (outage rate, latency),
/// so a person can watch the orchestrator fall back from `primary` to `backup` and its
/// circuit breaker open and close. The faults come from configuration and can be changed
/// while the service runs (`PUT /processors/{name}`).
public final class PaymentProcessors: Sendable {
    private let rules: Mutex<[PaymentProcessor: FaultPlan.Rule]>
    private let random: @Sendable () -> Double
    private let asking = Mutex(0)

    public init(primary: FaultPlan.Rule = .init(), backup: FaultPlan.Rule = .init(), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.rules = Mutex([.primary: primary, .backup: backup])
        self.random = random
    }

    public var primary: FaultPlan.Rule { rule(for: .primary) }
    public var backup: FaultPlan.Rule { rule(for: .backup) }

    /// How many authorizations are waiting for a processor's answer right now.
    public var inFlight: Int { asking.withLock { $0 } }

    public func rule(for processor: PaymentProcessor) -> FaultPlan.Rule {
        rules.withLock { $0[processor] ?? .init() }
    }

    /// Changes a processor's faults from now on (an outage starts or ends).
    public func set(_ processor: PaymentProcessor, _ rule: FaultPlan.Rule) {
        rules.withLock { $0[processor] = rule }
    }

    /// Asks `processor` to authorize; returns an authorization id, or the outage reason.
    public func authorize(_ processor: PaymentProcessor, orderID: String, amount: Money) async -> Result<String, ProcessorOutage> {
        let rule = rule(for: processor)
        asking.withLock { $0 += 1 }
        defer { asking.withLock { $0 -= 1 } }
        if rule.latency > .zero {
            try? await Task.sleep(for: rule.latency)
        }
        if rule.failureRate > 0, random() < rule.failureRate {
            return .failure(ProcessorOutage(reason: "processor \(processor.rawValue) is unavailable"))
        }
        return .success("AUTH-\(processor.rawValue.prefix(1).uppercased())-\(UUID.random().uuidString.prefix(8))")
    }

    public struct ProcessorOutage: Error, Sendable {
        public let reason: String
    }

    /// Reads `PAYMENT_PRIMARY_FAULTS` / `PAYMENT_BACKUP_FAULTS`, e.g. `failure=1, latency=50ms`.
    public static func parse(primary: String?, backup: String?) throws(ServiceKitError) -> PaymentProcessors {
        func rule(_ text: String?, _ variable: String) throws(ServiceKitError) -> FaultPlan.Rule {
            guard let text, !text.isEmpty else { return .init() }
            return try FaultPlan.parse("*: " + text, variable: variable).rules["*"] ?? .init()
        }
        return PaymentProcessors(primary: try rule(primary, "PAYMENT_PRIMARY_FAULTS"), backup: try rule(backup, "PAYMENT_BACKUP_FAULTS"))
    }
}
