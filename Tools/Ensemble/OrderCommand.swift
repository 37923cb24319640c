import ArgumentParser
import Contracts
import Foundation
import OrchestratorCore

/// `ensemble order place|show|watch|retry`: orders through the orchestrator's HTTP API.
struct OrderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order",
        abstract: "Place orders and follow their sagas.",
        subcommands: [Place.self, Show.self, Watch.self, Retry.self]
    )

    /// Prices of the demo SKUs, so `--item SKU:qty` is enough for them.
    static let demoPrices: [String: Money] = ["SKU-COFFEE": Money("12.50")!, "SKU-MUG": Money("7.50")!, "SKU-RARE": Money("199.00")!]

    struct Target: ParsableArguments {
        @Option(help: "The orchestrator's base URL.")
        var url = "http://127.0.0.1:8080"
    }

    struct Place: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Place an order and print its id (with --watch, follow it to the end).")
        @OptionGroup var target: Target

        @Option(help: "Customer id (demo: alice, bob, mallory).")
        var customer: String

        @Option(name: .customLong("item"), help: "SKU:quantity[:unitPrice]; repeat for several lines. Demo SKUs have prices.")
        var items: [String]

        @Option(help: "Card number; 4000000000000002 is always declined.")
        var card = "4111111111111111"

        @Option(help: "An Idempotency-Key: the same key again returns the same order.")
        var idempotencyKey: String?

        @Option(help: "orchestration or choreography (default: the orchestrator's ORDER_MODE).")
        var mode: CheckoutMode?

        @Flag(help: "Follow the order until it finishes.")
        var watch = false

        func run() async throws {
            let client = try OrchestratorClient(url: target.url)
            let lines = try items.map(OrderCommand.parseItem)
            let order = OrderRequest(
                customerID: customer, items: lines, payment: .init(card: card),
                shipTo: Address(name: customer.capitalized, line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US"),
                mode: mode
            )
            let accepted = try await client.place(order, idempotencyKey: idempotencyKey)
            print(accepted.orderId)
            if watch { try await OrderCommand.follow(accepted.orderId, client: client) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an order's status and timeline (its saga, or its events when choreographed).")
        @OptionGroup var target: Target
        @Argument(help: "The order id.") var id: String
        @Flag(help: "Print the order as JSON.") var json = false

        func run() async throws {
            let order = try await OrchestratorClient(url: target.url).order(id)
            if json {
                print(String(decoding: try JSONEncoder.pretty.encode(order), as: UTF8.self))
            } else {
                switch order {
                case .orchestrated(let view): print(OrderCommand.render(view))
                case .choreographed(let view): print(OrderCommand.render(view))
                }
            }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Follow an order's saga as it runs, until it finishes.")
        @OptionGroup var target: Target
        @Argument(help: "The order id.") var id: String

        func run() async throws {
            try await OrderCommand.follow(id, client: try OrchestratorClient(url: target.url))
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drive an order that needs attention again, once its cause is fixed, and follow it."
        )
        @OptionGroup var target: Target
        @Argument(help: "The order id.") var id: String

        func run() async throws {
            let client = try OrchestratorClient(url: target.url)
            let order = try await client.retry(id)
            print("Order \(order.orderId) is \(order.status) again.")
            try await OrderCommand.follow(id, client: client)
        }
    }

    static func parseItem(_ text: String) throws -> OrderRequest.Item {
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 2 || parts.count == 3, let quantity = Int(parts[1]) else {
            throw ValidationError("--item '\(text)' is not SKU:quantity[:unitPrice]")
        }
        let price: Money
        if parts.count == 3 {
            guard let parsed = Money(parts[2]) else { throw ValidationError("--item '\(text)': '\(parts[2])' is not a price like 12.50") }
            price = parsed
        } else if let known = demoPrices[parts[0]] {
            price = known
        } else {
            throw ValidationError("--item '\(text)': no known price for \(parts[0]); write SKU:quantity:unitPrice")
        }
        return .init(sku: parts[0], quantity: quantity, unitPrice: price)
    }

    /// Prints history lines as they appear, then the final summary.
    static func follow(_ id: String, client: OrchestratorClient) async throws {
        var printed = 0
        while true {
            let order = try await client.order(id)
            switch order {
            case .orchestrated(let view):
                for event in view.history.dropFirst(printed) { print(line(event)) }
                printed = view.history.count
                if order.isFinished { print("\n" + summary(view)) }
            case .choreographed(let view):
                for entry in view.timeline.dropFirst(printed) { print(line(entry)) }
                printed = view.timeline.count
                if order.isFinished { print("\n" + summary(view)) }
            }
            if order.isFinished { return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    static func render(_ order: ChoreographedOrderView) -> String {
        ([summary(order), ""] + order.timeline.map(line)).joined(separator: "\n")
    }

    static func summary(_ order: ChoreographedOrderView) -> String {
        var text = "Order \(order.orderId): \(order.status.rawValue) — choreography, customer \(order.customerId), total \(order.total)"
        if let finished = order.finishedAt { text += ", \(milliseconds(finished.timeIntervalSince(order.createdAt))) end to end" }
        if let failure = order.failure { text += "\n  reason: \(failure)" }
        if !order.awaiting.isEmpty { text += "\n  waiting for the compensation of: \(order.awaiting.map(\.rawValue).joined(separator: ", "))" }
        if let trace = order.traceId { text += "\n  trace: \(trace)" }
        return text
    }

    static func line(_ entry: ChoreographedOrderView.Entry) -> String {
        let time = entry.at.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true).time(includingFractionalSeconds: true))
        return "  \(time)  \(entry.source.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(entry.event)\(entry.detail.map { ": \($0)" } ?? "")"
    }

    static func render(_ order: OrderView) -> String {
        var lines = [summary(order), ""]
        lines += order.history.map(line)
        lines.append("")
        for step in order.steps {
            var duration = ""
            if let started = step.startedAt, let finished = step.finishedAt {
                duration = " in \(milliseconds(finished.timeIntervalSince(started)))"
            }
            let attempts = step.attempts.count == 1 ? "1 attempt" : "\(step.attempts.count) attempts"
            lines.append("  \(step.id.padding(toLength: 18, withPad: " ", startingAt: 0)) \(step.status.rawValue.padding(toLength: 19, withPad: " ", startingAt: 0)) \(attempts)\(duration)\(step.outcome.map { "  → \($0)" } ?? "")")
        }
        return lines.joined(separator: "\n")
    }

    static func summary(_ order: OrderView) -> String {
        var text = "Order \(order.orderId): \(order.status) — \(order.definition.name) v\(order.definition.version), customer \(order.customerId), total \(order.total ?? "?")"
        if let finished = order.finishedAt { text += ", \(milliseconds(finished.timeIntervalSince(order.createdAt))) end to end" }
        if let failure = order.failure { text += "\n  reason: \(failure)" }
        for item in order.attention ?? [] { text += "\n  left to do: \(item)" }
        if order.attention != nil { text += "\n  when the cause is fixed: ensemble order retry \(order.orderId)" }
        if let trace = order.traceId { text += "\n  trace: \(trace)" }
        return text
    }

    static func line(_ event: SagaEvent) -> String {
        let time = event.at.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true).time(includingFractionalSeconds: true))
        return "  \(time)  \((event.step ?? "").padding(toLength: 18, withPad: " ", startingAt: 0)) \(event.event.rawValue)\(event.detail.map { ": \($0)" } ?? "")"
    }

    static func milliseconds(_ seconds: TimeInterval) -> String {
        String(format: "%.0f ms", seconds * 1000)
    }
}

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension CheckoutMode: ExpressibleByArgument {}
