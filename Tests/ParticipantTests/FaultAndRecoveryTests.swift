import Contracts
import Foundation
import Logging
import Messaging
import MessagingTesting
import ProfileCore
import ServiceKit
import Storage
import StorageTesting
import Synchronization
import Testing

@Suite("Fault injection and recovery")
struct FaultAndRecoveryTests {
    @Test("the fault plan parses, and bad entries name the setting")
    func parse() throws {
        let plan = try FaultPlan.parse("payment.authorize.v1: failure=0.5, latency=200ms; *: drop=0.1; crash-after=40", variable: "PAYMENT_FAULTS")
        #expect(plan.rule(for: "payment.authorize.v1") == FaultPlan.Rule(failureRate: 0.5, latency: .milliseconds(200)))
        #expect(plan.rule(for: "payment.capture.v1") == FaultPlan.Rule(dropRate: 0.1))
        #expect(plan.crashAfter == 40)
        for bad in ["x: failure=2", "x: latency=soon", "crash-after=0", "x: explode=1", "nonsense"] {
            let error = #expect(throws: ServiceKitError.self) { try FaultPlan.parse(bad, variable: "PAYMENT_FAULTS") }
            #expect(error?.message.hasPrefix("PAYMENT_FAULTS=") == true)
        }
    }

    @Test("an injected failure replies command-failed (retriable) and changes nothing")
    func injectedFailure() async throws {
        let harness = try await Harness.make(ProfileService(), faults: FaultPlan(rules: ["*": .init(failureRate: 1)]))
        try await harness.running { harness in
            let command = try await harness.send(VerifyCustomer(customerID: "alice"), correlation: "o1")
            let failed = try await harness.reply(to: command, as: CommandFailed.self)
            #expect(failed.retriable)
            #expect(failed.service == "profile")
            #expect(failed.commandType == VerifyCustomer.messageType)
            #expect(harness.events.isEmpty)
        }
    }

    @Test("a dropped command gets no reply, and the ones after it are still handled")
    func drop() async throws {
        let harness = try await Harness.make(ProfileService(), faults: FaultPlan(rules: [VerifyCustomer.messageType: .init(dropRate: 1)]))
        try await harness.running { harness in
            let outbox = try await harness.outboxCount()
            let command = try await harness.send(VerifyCustomer(customerID: "alice"), correlation: "o1")
            // Committed: the consumer is done with it, and wrote nothing.
            try await eventually("the command consumed") { harness.bus.committedOffset(group: harness.groupID, topic: harness.commandsTopic) == 1 }
            #expect(try await harness.outboxCount() <= outbox)
            #expect(harness.bus.envelopes(in: Harness.replies).filter { $0.causationID == command.messageID }.isEmpty)
        }
    }

    @Test("a service stopped after its transaction, before publishing, publishes the reply after restart")
    func outboxSurvivesRestart() async throws {
        let database = TestDatabase.reopenable("restart")
        let bus = InMemoryMessageBus()
        let first = try await Harness.make(ProfileService(), database: try await database(), bus: bus)
        // Run only the consumer: the outcome is committed in the outbox, nothing is published.
        let command = try await first.running(relay: false) { harness in
            let before = try await harness.outboxCount()
            let command = try await harness.send(VerifyCustomer(customerID: "bob"), correlation: "o1")
            try await eventually("the transaction") { try await harness.outboxCount() == before + 2 }
            return command
        }
        #expect(bus.envelopes(in: Harness.replies).isEmpty)
        try await first.database.close()

        // A new process on the same database: the relay publishes what was left.
        let second = try await Harness.make(ProfileService(), database: try await database(), bus: bus)
        try await second.running { harness in
            let reply = try await harness.reply(to: command, as: CustomerVerified.self)
            #expect(reply.tier == .premium)
            try await eventually("an empty outbox") { try await harness.outboxCount() == 0 }
        }
    }

    @Test("crash-after stops the process after the commit and before the relay runs")
    func crashPoint() async throws {
        let crashed = Mutex(false)
        let injector = FaultInjector(plan: FaultPlan(crashAfter: 2), logger: Logger(label: "test"), crash: { crashed.withLock { $0 = true } })
        try await injector.committedOne()
        #expect(!crashed.withLock { $0 })
        try await injector.committedOne()
        #expect(crashed.withLock { $0 })
    }
}
