import Contracts
import Foundation
import InventoryCore
import Kafka
import Logging
import Messaging
import OrchestratorCore
import PaymentCore
import ProfileCore
import SQLKit
import ServiceKit
import ServiceLifecycle
import StorageTesting
import ShippingCore
import Storage
import Testing

/// An orchestrator opened on a host: its runner and everything to run.
struct OrchestratorHandle: Sendable {
    let intake: OrderIntake
    let services: [any Service]

    var runner: SagaRunner { intake.runner }
}

/// The whole stack — four participants and the orchestrator — over the real broker, on
/// topics of its own and fresh databases, in this process.
struct StackHarness: Sendable {
    let topics: TopicNames
    let kafka: KafkaRuntime
    let configuration: ServiceConfiguration
    let directory: String
    let participants: [String: ParticipantContext]
    let participantServices: [any Service]
    let health: [HealthState]

    static func make(
        faults: [String: FaultPlan] = [:], processors: PaymentProcessors = PaymentProcessors(),
        checkoutDeadline: Duration = ShippingService.defaultCheckoutDeadline, excluding: Set<ServiceName> = []
    ) async throws -> StackHarness {
        let topics = TopicNames(prefix: TestBroker.unique("stack") + ".", partitions: 2)
        var configuration = ServiceConfiguration(serviceName: "stack-test", httpPort: 0)
        configuration.kafka = try TestBroker.client()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(topics.prefix + "data").path
        configuration.dataDirectory = directory
        // The services run in this process, as in `ensemble up`: quiet consumers back off the same way.
        let kafka = try await KafkaRuntime.connect(configuration, topics: topics, oneProcess: true, logger: TestBroker.logger)
        var contexts: [String: ParticipantContext] = [:]
        var services: [any Service] = []
        var health: [HealthState] = []
        let all: [any Participant] = [ProfileService(), InventoryService(), PaymentService(processors: processors), ShippingService(checkoutDeadline: checkoutDeadline)]
        for participant in all where !excluding.contains(participant.name) {
            let (context, parts, state) = try await open(participant, configuration: configuration, topics: topics, kafka: kafka, faults: faults[participant.name.rawValue] ?? .none)
            health.append(state)
            contexts[participant.name.rawValue] = context
            services += parts
        }
        return StackHarness(topics: topics, kafka: kafka, configuration: configuration, directory: directory, participants: contexts, participantServices: services, health: health)
    }

    /// Opens one participant on the stack's topics and database directory (again, after a
    /// "kill"): its context, what to run, and its health.
    static func open(
        _ participant: some Participant, configuration: ServiceConfiguration, topics: TopicNames, kafka: KafkaRuntime, faults: FaultPlan = .none
    ) async throws -> (ParticipantContext, [any Service], HealthState) {
        var settings = HostSettings(service: configuration, faults: faults, topics: topics)
        settings.service.httpPort = 0
        settings.service.databaseURL = try await TestDatabase.serviceURL(topics.prefix + participant.name.rawValue)
        let state = HealthState()
        let (host, context) = try await ServiceHost.open(participant, settings: settings, bus: kafka.bus, health: state, metrics: nil, logger: TestBroker.logger)
        return (context, host.services(), state)
    }

    func open(_ participant: some Participant) async throws -> (ParticipantContext, [any Service], HealthState) {
        try await Self.open(participant, configuration: configuration, topics: topics, kafka: kafka)
    }

    /// Opens the orchestrator on the stack's database directory (again, after a "crash").
    func openOrchestrator(breakers: CircuitBreakers = CircuitBreakers()) async throws -> (OrchestratorHandle, HealthState) {
        var settings = HostSettings(service: configuration, topics: topics)
        settings.service.httpPort = 0
        settings.service.databaseURL = try await TestDatabase.serviceURL(topics.prefix + "orchestrator")
        let health = HealthState()
        let (host, intake) = try await ServiceHost.open(OrchestratorService(breakers: breakers), settings: settings, bus: kafka.bus, health: health, metrics: nil, logger: TestBroker.logger)
        return (OrchestratorHandle(intake: intake, services: host.services()), health)
    }

    /// Runs the producer, the participants and `orchestrator` while `body` runs.
    func running<T: Sendable>(_ orchestrator: (OrchestratorHandle, HealthState), _ body: @Sendable (SagaRunner) async throws -> T) async throws -> T {
        let services = orchestrator.0.services
        let runner = orchestrator.0.runner
        return try await runningParticipants {
            try await run(services, runner, ready: orchestrator.1) { try await body($0) }
        }
    }

    /// Runs the producer and the participants while `body` runs.
    func runningParticipants<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let services = [kafka.producer as any Service] + participantServices
        let health = self.health
        return try await withThrowingTaskGroup(of: T?.self) { group in
            for service in services {
                group.addTask { try await service.run(); return nil }
            }
            try await eventually("every participant to join its group") { health.allSatisfy(\.isReady) }
            let result = try await body()
            group.cancelAll()
            return result
        }
    }

    /// Runs the orchestrator's relay, reply consumer and timers (not its HTTP server) while
    /// `body` runs; cancelling them is the closest thing to killing the process.
    func run<T: Sendable>(_ orchestrator: (OrchestratorHandle, HealthState), _ body: @Sendable (SagaRunner) async throws -> T) async throws -> T {
        try await run(orchestrator.0.services, orchestrator.0.runner, ready: orchestrator.1, body)
    }

    private func run<T: Sendable>(_ services: [any Service], _ runner: SagaRunner, ready: HealthState, _ body: @Sendable (SagaRunner) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            for service in services {
                group.addTask { try await service.run(); return nil }
            }
            try await eventually("the orchestrator to join its group") { ready.isReady }
            let result = try await body(runner)
            group.cancelAll()
            return result
        }
    }

    // MARK: - Orders and final state

    static let address = Address(name: "Test Person", line1: "1 Test St", city: "Testville", postalCode: "12345", country: "US")

    func order(_ customer: String, _ items: [(String, Int, String)], card: String = "4111111111111111") -> OrderRequest {
        OrderRequest(
            customerID: customer,
            items: items.map { OrderRequest.Item(sku: $0.0, quantity: $0.1, unitPrice: Money($0.2)!) },
            payment: .init(card: card),
            shipTo: Self.address
        )
    }

    /// Waits until the saga finished; returns it.
    func finished(_ runner: SagaRunner, _ id: String, timeout: Duration = .seconds(45)) async throws -> SagaInstance {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let saga = try await runner.saga(id), saga.status.isFinished { return saga }
            guard ContinuousClock.now < deadline else {
                let saga = try await runner.saga(id)
                throw TimedOut(what: "order \(id) to finish (now \(saga?.status.rawValue ?? "missing"); \(saga?.history.last?.event.rawValue ?? ""))", timeout: timeout)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func query(_ service: String, _ text: String) async throws -> [any SQLRow] {
        let database = try #require(participants[service]).database
        return try await database.read { try await $0.raw(SQLQueryString(text)).all() }
    }

    func stock(_ sku: String) async throws -> (onHand: Int, reserved: Int) {
        let row = try #require(try await query("inventory", "SELECT on_hand, reserved FROM stock WHERE sku = '\(sku)'").first)
        return (try row.decode(column: "on_hand", as: Int.self), try row.decode(column: "reserved", as: Int.self))
    }

    func reservations(_ order: String) async throws -> [String] {
        try await query("inventory", "SELECT status FROM reservations WHERE order_id = '\(order)' ORDER BY sku").map { try $0.decode(column: "status", as: String.self) }
    }

    func ledger(_ order: String) async throws -> [String] {
        try await query("payment", "SELECT entry FROM ledger WHERE order_id = '\(order)' ORDER BY id").map { try $0.decode(column: "entry", as: String.self) }
    }

    func payment(_ order: String) async throws -> (status: String, processor: String?)? {
        try await query("payment", "SELECT status, processor FROM payments WHERE order_id = '\(order)'").first.map {
            (try $0.decode(column: "status", as: String.self), try $0.decode(column: "processor", as: String?.self))
        }
    }

    func shipment(_ order: String) async throws -> (status: String, carrier: String, fee: Int64, priority: Bool)? {
        try await query("shipping", "SELECT status, carrier, fee_minor, priority FROM shipments WHERE order_id = '\(order)'").first.map {
            (try $0.decode(column: "status", as: String.self), try $0.decode(column: "carrier", as: String.self),
             try $0.decode(column: "fee_minor", as: Int64.self), try $0.decode(column: "priority", as: Int.self) != 0)
        }
    }
}
