import Configuration
import Contracts
import Foundation
import Hummingbird
import Messaging
import SQLKit
import ServiceKit
import Storage

/// The payment service: authorizations through a primary or backup processor, capture,
/// void and refund (compensations), a ledger per order, declines by rule.
public struct PaymentService: Participant {
    public let name = ServiceName.payment
    public let defaultHTTPPort = 8082
    public var migrations: [Migration] { [PaymentStore.migration, Withdrawals.migration, CardVault.migration] }
    public let processors: PaymentProcessors
    /// The limit of a customer without one of their own.
    public let defaultLimit: Money
    /// Opens sealed cards and encrypts the numbers the vault keeps. Without it (a service
    /// built in code, for tests) plain numbers are accepted and nothing is kept, and a
    /// sealed card is refused.
    public let vault: CardVaultKeys?

    public init(processors: PaymentProcessors = PaymentProcessors(), defaultLimit: Money = 1000, vault: CardVaultKeys? = nil) {
        self.processors = processors
        self.defaultLimit = defaultLimit
        self.vault = vault
    }

    /// Reads `PAYMENT_PRIMARY_FAULTS`, `PAYMENT_BACKUP_FAULTS` (e.g. `failure=1, latency=50ms`),
    /// `PAYMENT_DEFAULT_LIMIT` (e.g. `1000.00`) and `PAYMENT_VAULT_KEY` (required; `vault`,
    /// when given, is used when the variable is not set — `ensemble up` passes its local one).
    public init(reader: ConfigReader, vault fallback: CardVaultKeys? = nil) throws(ServiceKitError) {
        let processors = try PaymentProcessors.parse(
            primary: reader.string(forKey: "payment.primary.faults"),
            backup: reader.string(forKey: "payment.backup.faults")
        )
        var limit: Money = 1000
        if let text = reader.string(forKey: "payment.default.limit") {
            guard let parsed = Money(text), parsed >= .zero else {
                throw .invalid("PAYMENT_DEFAULT_LIMIT", text, expected: "an amount like 1000.00")
            }
            limit = parsed
        }
        let vault: CardVaultKeys
        if let secret = reader.string(forKey: "payment.vault.key", isSecret: true), !secret.isEmpty {
            vault = try CardVaultKeys(secret: secret)
        } else if let fallback {
            vault = fallback
        } else {
            throw ServiceKitError(code: .invalidConfiguration, message: "PAYMENT_VAULT_KEY is not set: the payment vault's key (base64 of 32 random bytes, e.g. openssl rand -base64 32)")
        }
        self.init(processors: processors, defaultLimit: limit, vault: vault)
    }

    /// The number of `card`: opened when sealed. A sealed card this service cannot open is
    /// an invalid command.
    static func number(_ card: PaymentCard, vault: CardVaultKeys?, order: String) throws -> String {
        if case .number(let number) = card { return number }
        guard let vault else { throw CommandRefused.invalid("order \(order): a sealed card, and this payment service has no vault key") }
        do {
            return try vault.open(card)
        } catch {
            throw CommandRefused.invalid("order \(order): \(error.message)")
        }
    }

    /// Demo limits: alice may spend 500, bob 5,000; everyone else `defaultLimit`.
    public static let demoLimits: [(String, Money)] = [("alice", 500), ("bob", 5000)]

    /// What the processor said, decided before the transaction.
    enum ProcessorAnswer: Sendable {
        case notNeeded
        case authorized(String)
        case outage(String)
    }

    /// What an authorization works out before its transaction: the card's number (opened
    /// once: opening a sealed card is an X25519 key agreement) and the processor's answer.
    struct Authorization: Sendable {
        let number: String
        let answer: ProcessorAnswer
    }

    public func commands(_ context: ParticipantContext, router: inout MessageRouter) {
        let processors = self.processors
        let defaultLimit = self.defaultLimit
        let database = context.database
        let vault = self.vault
        context.handle(AuthorizePayment.self, in: &router, prepare: { command, _ -> Authorization? in
            let number = try Self.number(command.card, vault: vault, order: command.orderID)
            if let problem = PaymentRules.problem(amount: command.amount, cardNumber: number) {
                throw CommandRefused.invalid("order \(command.orderID): \(problem)")
            }
            let (existing, limit) = try await database.read { sql in
                (try await PaymentStore.payment(order: command.orderID, in: sql), try await PaymentStore.limit(customer: command.customerID, in: sql))
            }
            if let existing, existing.status == .authorized || existing.status == .captured { return Authorization(number: number, answer: .notNeeded) }
            if PaymentRules.declineReason(amount: command.amount, cardNumber: number, limit: limit ?? defaultLimit) != nil {
                return Authorization(number: number, answer: .notNeeded)
            }
            switch await processors.authorize(command.processor, orderID: command.orderID, amount: command.amount) {
            case .success(let id): return Authorization(number: number, answer: .authorized(id))
            case .failure(let outage): return Authorization(number: number, answer: .outage(outage.reason))
            }
        }) { command, _, prepared, sql in
            // Not prepared when the inbox already held the command: open the card here then.
            let number = try prepared?.number ?? Self.number(command.card, vault: vault, order: command.orderID)
            return try await Self.authorize(command, number: number, vault: vault, answer: prepared?.answer ?? .notNeeded, defaultLimit: defaultLimit, in: sql)
        }
        context.handle(CapturePayment.self, in: &router) { command, _, sql in
            guard let captured = try await Self.capture(order: command.orderID, in: sql) else {
                throw CommandRefused.refused("order \(command.orderID) has no authorization to capture")
            }
            return .replyAndPublish(captured)
        }
        context.handle(VoidPayment.self, in: &router) { command, _, sql in
            guard let payment = try await PaymentStore.payment(order: command.orderID, in: sql) else {
                return .replyAndPublish(PaymentVoided(orderID: command.orderID, amount: .zero))
            }
            switch payment.status {
            case .authorized:
                return try await Self.void(payment, in: sql)
            case .voided:
                return .replyAndPublish(PaymentVoided(orderID: payment.orderID, amount: payment.amount))
            case .declined:
                return .replyAndPublish(PaymentVoided(orderID: payment.orderID, amount: .zero))
            case .captured, .refunded:
                throw CommandRefused.refused("order \(command.orderID) was captured; it needs a refund (or payment.reverse.v1), not a void")
            }
        }
        context.handle(RefundPayment.self, in: &router) { command, _, sql in
            try await Self.refund(order: command.orderID, in: sql)
        }
        context.handle(ReversePayment.self, in: &router) { command, _, sql in
            guard let payment = try await PaymentStore.payment(order: command.orderID, in: sql) else {
                return .replyAndPublish(PaymentVoided(orderID: command.orderID, amount: .zero))
            }
            switch payment.status {
            case .captured, .refunded:
                return try await Self.refund(order: command.orderID, in: sql)
            case .authorized:
                return try await Self.void(payment, in: sql)
            case .voided:
                return .replyAndPublish(PaymentVoided(orderID: payment.orderID, amount: payment.amount))
            case .declined:
                return .replyAndPublish(PaymentVoided(orderID: payment.orderID, amount: .zero))
            }
        }
    }

    /// What the processors said for a choreographed order, decided before the transaction.
    struct ChoreographedAnswer: Sendable {
        var processor: PaymentProcessor
        var answer: ProcessorAnswer
        /// The order's card or amount is invalid: declined without asking a processor.
        var problem: String?
        /// Processors that failed before `processor` answered, for the ledger.
        var outages: [(PaymentProcessor, String)] = []
        /// The card's number, opened before the transaction.
        var number: String?
    }

    public func reactions(_ context: ParticipantContext, router: inout MessageRouter) {
        let processors = self.processors
        let defaultLimit = self.defaultLimit
        let database = context.database
        let vault = self.vault
        context.react(CustomerVerified.self, in: &router, prepare: { verified, _ -> ChoreographedAnswer? in
            guard let order = verified.order else { return nil }
            let number = try Self.number(order.card, vault: vault, order: order.orderID)
            // The card is opened once, here, and handed to the transaction.
            func decide() async throws -> ChoreographedAnswer {
                if let problem = PaymentRules.problem(amount: order.total, cardNumber: number) {
                    return ChoreographedAnswer(processor: .primary, answer: .notNeeded, problem: problem)
                }
                let (withdrawn, existing, limit) = try await database.read { sql in
                    (try await Withdrawals.isWithdrawn(order: order.orderID, in: sql),
                     try await PaymentStore.payment(order: order.orderID, in: sql),
                     try await PaymentStore.limit(customer: order.customerID, in: sql))
                }
                if withdrawn { return ChoreographedAnswer(processor: .primary, answer: .notNeeded) }
                if let existing, existing.status == .authorized || existing.status == .captured { return ChoreographedAnswer(processor: existing.processor ?? .primary, answer: .notNeeded) }
                if PaymentRules.declineReason(amount: order.total, cardNumber: number, limit: limit ?? defaultLimit) != nil {
                    return ChoreographedAnswer(processor: .primary, answer: .notNeeded)
                }
                // The fallback stays inside the service: primary first, then backup.
                var outages: [(PaymentProcessor, String)] = []
                for processor in [PaymentProcessor.primary, .backup] {
                    switch await processors.authorize(processor, orderID: order.orderID, amount: order.total) {
                    case .success(let id): return ChoreographedAnswer(processor: processor, answer: .authorized(id), outages: outages)
                    case .failure(let failure): outages.append((processor, failure.reason))
                    }
                }
                let reason = outages.map { "\($0.0.rawValue): \($0.1)" }.joined(separator: "; ")
                return ChoreographedAnswer(processor: .backup, answer: .outage(reason), outages: Array(outages.dropLast()))
            }
            var answer = try await decide()
            answer.number = number
            return answer
        }) { verified, _, prepared, sql in
            guard let order = verified.order else { throw MessageRejection("a choreographed customer-verified event carries the order") }
            let prepared = prepared ?? ChoreographedAnswer(processor: .primary, answer: .notNeeded)
            let command = AuthorizePayment(
                orderID: order.orderID, customerID: order.customerID, amount: order.total, card: order.card,
                processor: prepared.processor, billingName: order.billingName, billingPhone: order.billingPhone
            )
            let number = try prepared.number ?? Self.number(order.card, vault: vault, order: order.orderID)
            if let problem = prepared.problem {
                try await PaymentStore.save(.init(orderID: order.orderID, customerID: order.customerID, amount: order.total, status: .declined, processor: nil), in: sql)
                try await PaymentStore.record(order: order.orderID, "decline", amount: order.total, processor: nil, detail: problem, in: sql)
                return [PaymentDeclined(orderID: order.orderID, reason: problem)]
            }
            for (processor, reason) in prepared.outages {
                try await PaymentStore.record(order: order.orderID, "processor-error", amount: order.total, processor: processor, detail: reason, in: sql)
            }
            if try await Withdrawals.isWithdrawn(order: order.orderID, in: sql) {
                // The stock ran short (or shipping refused) while the processor was asked:
                // an authorization that arrives now is voided at once.
                guard case .authorized = prepared.answer, try await PaymentStore.payment(order: order.orderID, in: sql) == nil else { return [] }
                let authorized = try await Self.authorize(command, number: number, vault: vault, answer: prepared.answer, defaultLimit: defaultLimit, in: sql).published
                guard let payment = try await PaymentStore.payment(order: order.orderID, in: sql) else { return authorized }
                return authorized + (try await Self.void(payment, in: sql).published)
            }
            return try await Self.authorize(command, number: number, vault: vault, answer: prepared.answer, defaultLimit: defaultLimit, in: sql).published
        }
        context.react(ShipmentScheduled.self, in: &router) { scheduled, _, sql in
            guard let captured = try await Self.capture(order: scheduled.orderID, in: sql) else {
                throw MessageRejection("order \(scheduled.orderID) was scheduled for shipment without an authorization here")
            }
            return [captured]
        }
        // Every failure answers with `payment-voided`, zero when nothing was authorized, so
        // the tracker knows payment is done with the order.
        let void: @Sendable (String, String, any SQLDatabase) async throws -> ReactionOutcome = { order, reason, sql in
            try await Withdrawals.withdraw(order: order, reason: reason, in: sql)
            guard let payment = try await PaymentStore.payment(order: order, in: sql) else { return [PaymentVoided(orderID: order, amount: .zero)] }
            switch payment.status {
            case .authorized: return try await Self.void(payment, in: sql).published
            case .voided: return [PaymentVoided(orderID: order, amount: payment.amount)]
            case .declined: return [PaymentVoided(orderID: order, amount: .zero)]
            case .captured, .refunded:
                throw MessageRejection("order \(order) was captured before \(reason); it needs a refund, not a void")
            }
        }
        context.react(StockReservationFailed.self, in: &router) { event, _, sql in try await void(event.orderID, "stock short", sql) }
        context.react(ShipmentRefused.self, in: &router) { event, _, sql in try await void(event.orderID, "shipment refused", sql) }
    }

    /// Captures `order`'s authorization (once); nil when there is none.
    static func capture(order: String, in sql: any SQLDatabase) async throws -> PaymentCaptured? {
        guard var payment = try await PaymentStore.payment(order: order, in: sql),
              payment.status == .authorized || payment.status == .captured else { return nil }
        if payment.status == .authorized {
            payment.status = .captured
            try await PaymentStore.save(payment, in: sql)
            try await PaymentStore.record(order: payment.orderID, "capture", amount: payment.amount, processor: payment.processor, in: sql)
        }
        return PaymentCaptured(orderID: payment.orderID, amount: payment.amount)
    }

    /// Releases an authorization.
    static func void(_ payment: PaymentStore.Payment, in sql: any SQLDatabase) async throws -> CommandOutcome {
        var payment = payment
        payment.status = .voided
        try await PaymentStore.save(payment, in: sql)
        try await PaymentStore.record(order: payment.orderID, "void", amount: payment.amount, processor: payment.processor, in: sql)
        return .replyAndPublish(PaymentVoided(orderID: payment.orderID, amount: payment.amount))
    }

    /// Gives captured money back (once); nothing captured replies with a zero amount.
    static func refund(order: String, in sql: any SQLDatabase) async throws -> CommandOutcome {
        guard var payment = try await PaymentStore.payment(order: order, in: sql),
              payment.status == .captured || payment.status == .refunded else {
            return .replyAndPublish(PaymentRefunded(orderID: order, amount: .zero))
        }
        if payment.status == .captured {
            payment.status = .refunded
            try await PaymentStore.save(payment, in: sql)
            try await PaymentStore.record(order: payment.orderID, "refund", amount: payment.amount, processor: payment.processor, in: sql)
        }
        return .replyAndPublish(PaymentRefunded(orderID: payment.orderID, amount: payment.amount))
    }

    /// Authorizes `command` (its card's number is `number`), keeping the number in the vault.
    static func authorize(
        _ command: AuthorizePayment, number: String, vault: CardVaultKeys?, answer: ProcessorAnswer, defaultLimit: Money, in sql: any SQLDatabase
    ) async throws -> CommandOutcome {
        if let existing = try await PaymentStore.payment(order: command.orderID, in: sql),
           existing.status == .authorized || existing.status == .captured {
            return .replyAndPublish(PaymentAuthorized(
                orderID: existing.orderID, authorizationID: existing.authorizationID ?? "", amount: existing.amount, processor: existing.processor ?? command.processor,
                customerID: existing.customerID, card: MaskedCard(number: number), billingName: command.billingName, billingPhone: command.billingPhone
            ))
        }
        if let vault { try await CardVault.store(order: command.orderID, number: number, keys: vault, in: sql) }
        let limit = try await PaymentStore.limit(customer: command.customerID, in: sql) ?? defaultLimit
        if let reason = PaymentRules.declineReason(amount: command.amount, cardNumber: number, limit: limit) {
            try await PaymentStore.save(.init(orderID: command.orderID, customerID: command.customerID, amount: command.amount, status: .declined, processor: command.processor), in: sql)
            try await PaymentStore.record(order: command.orderID, "decline", amount: command.amount, processor: command.processor, detail: reason, in: sql)
            return .replyAndPublish(PaymentDeclined(orderID: command.orderID, reason: reason))
        }
        switch answer {
        case .authorized(let authorizationID):
            try await PaymentStore.save(.init(
                orderID: command.orderID, customerID: command.customerID, amount: command.amount,
                status: .authorized, processor: command.processor, authorizationID: authorizationID
            ), in: sql)
            try await PaymentStore.record(order: command.orderID, "authorize", amount: command.amount, processor: command.processor, in: sql)
            return .replyAndPublish(PaymentAuthorized(
                orderID: command.orderID, authorizationID: authorizationID, amount: command.amount, processor: command.processor,
                customerID: command.customerID, card: MaskedCard(number: number), billingName: command.billingName, billingPhone: command.billingPhone
            ))
        case .outage(let reason):
            try await PaymentStore.record(order: command.orderID, "processor-error", amount: command.amount, processor: command.processor, detail: reason, in: sql)
            return .replyAndPublish(PaymentFailed(orderID: command.orderID, processor: command.processor, reason: reason))
        case .notNeeded:
            // The state changed between the check and the transaction; let the retry decide.
            throw PaymentRetry()
        }
    }

    struct PaymentRetry: Error, CustomStringConvertible {
        var description: String { "the payment changed while the processor was asked; retrying" }
    }

    public func seed(_ context: ParticipantContext) async throws {
        try await context.database.seedIfEmpty({ try await PaymentStore.limitCount(in: $0) == 0 }) { sql in
            for (customer, limit) in Self.demoLimits {
                try await PaymentStore.setLimit(customer: customer, limit, in: sql)
            }
        }
    }

    struct PaymentView: Codable {
        var payment: PaymentStore.Payment
        var ledger: [PaymentStore.LedgerEntry]
    }

    struct LimitBody: Codable {
        var limit: Money
    }

    /// A simulated processor's faults, as `GET/PUT /processors/{name}` show them.
    struct ProcessorFaults: Codable {
        var processor: PaymentProcessor?
        var failureRate: Double
        /// 0 when left out.
        var latencyMilliseconds: Int64?

        init(_ processor: PaymentProcessor, _ rule: FaultPlan.Rule) {
            self.processor = processor
            failureRate = rule.failureRate
            latencyMilliseconds = rule.latency.wholeMilliseconds
        }
    }

    public func routes(_ context: ParticipantContext, routes: ServiceRoutes) {
        let database = context.database
        let defaultLimit = self.defaultLimit
        routes.get("payments", scope: .paymentsRead) { request, _ -> Response in
            // A customer's payments (newest 100), or one order's, or the newest 100 of all,
            // each with its ledger.
            let query = request.uri.queryParameters
            let customer = query["customerId"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            let order = query["orderId"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            let views: [PaymentView] = try await database.read { sql in
                let orders = if customer == nil, let order { [order] } else { try await PaymentStore.orders(customer: customer, limit: 100, in: sql) }
                var views: [PaymentView] = []
                for order in orders {
                    guard let payment = try await PaymentStore.payment(order: order, in: sql) else { continue }
                    views.append(PaymentView(payment: payment, ledger: try await PaymentStore.ledger(order: order, in: sql)))
                }
                return views
            }
            return try ServiceHTTPServer.jsonResponse(.ok, views)
        }
        let processors = self.processors
        routes.get("processors", scope: .paymentsRead) { _, _ -> Response in
            try ServiceHTTPServer.jsonResponse(.ok, PaymentProcessor.allCases.map { ProcessorFaults($0, processors.rule(for: $0)) })
        }
        routes.put("processors/:name", scope: .admin) { request, context -> Response in
            let name = try context.parameters.decoded("name")
            guard let processor = PaymentProcessor(rawValue: name) else {
                throw APIError.notFound("no processor '\(name)' (primary, backup)")
            }
            let body = try await request.decodeJSON(ProcessorFaults.self, context: context)
            guard (0...1).contains(body.failureRate) else { throw APIError.badRequest("failureRate must be between 0 and 1", code: "invalid-faults") }
            let latency = body.latencyMilliseconds ?? 0
            guard (0...60_000).contains(latency) else { throw APIError.badRequest("latencyMilliseconds must be 0-60000", code: "invalid-faults") }
            processors.set(processor, FaultPlan.Rule(failureRate: body.failureRate, latency: .milliseconds(latency)))
            context.logger.warning("processor faults changed", metadata: ["processor": "\(name)", "failure.rate": "\(body.failureRate)", "latency.ms": "\(latency)"])
            return try ServiceHTTPServer.jsonResponse(.ok, ProcessorFaults(processor, processors.rule(for: processor)))
        }
        routes.get("limits/:customer", scope: .paymentsRead) { _, context -> Response in
            let customer = try context.parameters.decoded("customer")
            let limit = try await database.read { try await PaymentStore.limit(customer: customer, in: $0) }
            return try ServiceHTTPServer.jsonResponse(.ok, LimitBody(limit: limit ?? defaultLimit))
        }
        routes.put("limits/:customer", scope: .paymentsWrite) { request, context -> Response in
            let customer = try context.parameters.decoded("customer")
            let body = try await request.decodeJSON(LimitBody.self, context: context)
            guard body.limit >= .zero else { throw APIError.badRequest("limit must not be negative", code: "invalid-limit") }
            try await database.transaction { try await PaymentStore.setLimit(customer: customer, body.limit, in: $0) }
            return try ServiceHTTPServer.jsonResponse(.ok, body)
        }
    }
}
