import AggregatorCore
import ArgumentParser
import AsyncHTTPClient
import Foundation
import Messaging
import NIOCore

/// `ensemble profile show|watch`: a customer as the aggregator merged it.
struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Show a customer's profile, merged from every service's events.",
        subcommands: [Show.self, Watch.self]
    )

    struct Target: ParsableArguments {
        @Option(help: "The aggregator's base URL.")
        var url = "http://127.0.0.1:8081"
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a readable card: contact with each field's source, orders, money, shipments, conflicts, freshness.")
        @OptionGroup var target: Target
        @Argument(help: "The customer id.") var customer: String
        @Flag(help: "Ask the services live instead of the projection.") var live = false
        @Flag(help: "Print the JSON.") var json = false

        func run() async throws {
            let (data, status) = try await AggregatorHTTP.get("\(target.url)/profiles/\(customer)\(live ? "?mode=live" : "")")
            guard status == 200 else { throw CLIError("HTTP \(status): \(AggregatorHTTP.message(data))") }
            if json {
                print(String(decoding: data, as: UTF8.self))
                return
            }
            let response = try MessageCoding.decode(ProfileAnswer.self, from: data)
            print(ProfileCard.render(response))
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Follow a profile: print the card again each time an event changes it (Ctrl-C stops).")
        @OptionGroup var target: Target
        @Argument(help: "The customer id.") var customer: String

        func run() async throws {
            var request = HTTPClientRequest(url: "\(target.url)/profiles/\(customer)/stream")
            await request.authorize()
            let response = try await CLIHTTP.client.execute(request, timeout: .hours(24))
            guard response.status == .ok else { throw CLIError("HTTP \(response.status.code) from the aggregator") }
            var pending = ""
            for try await chunk in response.body {
                pending += String(buffer: chunk)
                while let range = pending.range(of: "\n\n") {
                    let event = String(pending[..<range.lowerBound])
                    pending.removeSubrange(..<range.upperBound)
                    guard let line = event.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }) else { continue }
                    let profile = try MessageCoding.decode(CustomerProfile.self, from: Data(line.dropFirst(6).utf8))
                    print("\u{1B}[2J\u{1B}[H" + ProfileCard.render(ProfileAnswer(mode: "push", complete: true, profile: profile, freshness: nil, sources: nil)))
                }
            }
        }
    }
}

/// `GET /profiles/{id}` as the CLI reads it.
struct ProfileAnswer: Decodable {
    struct SourceStatus: Decodable {
        var status: String
        var latencyMilliseconds: Double
        var error: String?
    }

    var mode: String
    var complete: Bool
    var profile: CustomerProfile
    var freshness: Freshness?
    var sources: [String: SourceStatus]?
}

/// The readable card of a profile.
enum ProfileCard {
    static func render(_ answer: ProfileAnswer) -> String {
        let p = answer.profile
        var lines: [String] = []
        let tier = p.tier?.value ?? "?"
        lines.append("\(p.customerId) — \(p.contact.name?.value ?? "(no name)") (\(tier)\(p.blocked?.value == true ? ", blocked" : ""))   [\(answer.mode)\(answer.complete ? "" : ", INCOMPLETE")]")
        lines.append("")
        lines.append("contact")
        for (field, value) in [("name", p.contact.name), ("email", p.contact.email), ("phone", p.contact.phone)] {
            guard let value else { lines.append("  \(pad(field, 6)) -"); continue }
            lines.append("  \(pad(field, 6)) \(pad(value.value, 26)) \(source(value.source))")
        }
        if !p.addresses.isEmpty {
            lines.append("addresses")
            for address in p.addresses.prefix(6) {
                let a = address.address
                lines.append("  \(pad(address.kind, 9)) \(a.name), \(a.line1), \(a.postalCode) \(a.city), \(a.country)\(address.orderId.map { "  (\($0))" } ?? "")")
            }
        }
        lines.append("orders (\(p.orderCounts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))")
        for order in p.orders.prefix(10) {
            lines.append("  \(order.orderId)  \(pad(order.status, 15)) \(pad(order.total?.description ?? "-", 9)) placed \(order.placedAt.map(time) ?? "-")\(order.mode.map { "  (\($0))" } ?? "")")
        }
        if p.orders.count > 10 { lines.append("  … \(p.orders.count - 10) more") }
        let m = p.money
        lines.append("money     authorized \(m.authorized) · captured \(m.captured) · voided \(m.voided) · refunded \(m.refunded) · lifetime value \(m.lifetimeValue)")
        if !p.shipments.isEmpty {
            lines.append("shipments")
            for s in p.shipments.prefix(10) {
                lines.append("  \(s.orderId)  \(s.carrier ?? "-") \(s.trackingNumber ?? "")\(s.priority ? " priority" : "") fee \(s.fee?.description ?? "-") \(s.status)")
            }
        }
        if !p.billing.isEmpty {
            lines.append("billing")
            for b in p.billing.prefix(5) {
                let card = b.cardBrand.map { "\($0) •••• \(b.cardLast4 ?? "????")" } ?? "card ?"
                lines.append("  \(b.orderId)  \(card)  \([b.billingName, b.billingPhone].compactMap { $0 }.joined(separator: ", "))")
            }
        }
        if !p.conflicts.isEmpty {
            lines.append("conflicts")
            for c in p.conflicts {
                let values = c.candidates.map { "\($0.source) \"\($0.value)\" (\(time($0.at)))" }.joined(separator: " vs ")
                lines.append("  \(c.field): \(values) → \(c.winner)")
            }
        }
        if let freshness = answer.freshness {
            lines.append("freshness  as of \(freshness.asOf.map(time) ?? "-"), \(freshness.stalenessMilliseconds == 0 ? "caught up" : "\(Int(freshness.stalenessMilliseconds)) ms behind")")
            for (name, source) in freshness.sources.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(pad(name, 10)) last event \(source.lastEventAt.map(time) ?? "-"), \(source.eventsApplied) applied, lag \(source.lagMessages.map(String.init) ?? "?")")
            }
        }
        if let sources = answer.sources {
            lines.append("live sources")
            for (name, status) in sources.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(pad(name, 13)) \(pad(status.status, 12)) \(Int(status.latencyMilliseconds)) ms\(status.error.map { "  \($0)" } ?? "")")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func source(_ prov: Provenance) -> String {
        var text = "\(prov.source)  \(prov.messageType)"
        if let topic = prov.topic, let partition = prov.partition, let offset = prov.offset { text += " @ \(topic)[\(partition)]@\(offset)" }
        return text + ", \(time(prov.occurredAt))"
    }

    static func time(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false).time(includingFractionalSeconds: false))
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

/// `ensemble dashboard`: the shop at a glance, from the aggregator.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dashboard", abstract: "Orders per minute, outcomes, revenue, top and low-stock SKUs, processor share.")
    @Option(help: "The aggregator's base URL.") var url = "http://127.0.0.1:8081"
    @Flag(help: "Print the JSON.") var json = false

    func run() async throws {
        let (data, status) = try await AggregatorHTTP.get("\(url)/dashboard")
        guard status == 200 else { throw CLIError("HTTP \(status): \(AggregatorHTTP.message(data))") }
        if json { print(String(decoding: data, as: UTF8.self)); return }
        let d = try MessageCoding.decode(Dashboard.self, from: data)
        var rows: [[String]] = []
        rows.append(["orders by status", d.ordersByStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")])
        rows.append(["revenue", d.revenue.description])
        rows.append(["orders per minute", d.ordersPerMinute.suffix(5).map { "\($0.minute.suffix(5)) \($0.orders)" }.joined(separator: ", ")])
        rows.append(["top SKUs", d.topSKUs.map { "\($0.sku) \($0.units)" }.joined(separator: ", ")])
        rows.append(["low stock", d.lowStock.isEmpty ? "none" : d.lowStock.map { "\($0.sku) \($0.units) left" }.joined(separator: ", ")])
        rows.append(["processor share", d.processorShare.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")])
        print(TextTable(title: "dashboard at \(url)", columns: ["measure", "value"], rows: rows).rendered)
    }
}

/// `ensemble aggregator rebuild`: replay every topic into fresh projections, with progress.
struct AggregatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "aggregator", abstract: "Operate the aggregator.", subcommands: [Rebuild.self])

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rebuild every projection from the start of the topics, showing progress.")
        @Option(help: "The aggregator's base URL.") var url = "http://127.0.0.1:8081"

        func run() async throws {
            let (data, status) = try await AggregatorHTTP.post("\(url)/admin/rebuild")
            guard status == 202 else { throw CLIError("HTTP \(status): \(AggregatorHTTP.message(data))") }
            while true {
                try await Task.sleep(for: .milliseconds(250))
                let (body, _) = try await AggregatorHTTP.get("\(url)/admin/rebuild")
                let progress = try JSONSerialization.jsonObject(with: body) as? [String: Any] ?? [:]
                let state = progress["state"] as? String ?? "?"
                let applied = progress["applied"] as? Int ?? 0
                let total = (progress["total"] as? Int).map { " of \($0)" } ?? ""
                let rate = (progress["eventsPerSecond"] as? Double).map { String(format: ", %.0f events/s", $0) } ?? ""
                FileHandle.standardError.write(Data("\r\u{1B}[Krebuild: \(state), \(applied)\(total) events\(rate)".utf8))
                if state == "done" || state == "failed" {
                    FileHandle.standardError.write(Data("\n".utf8))
                    if state == "failed" { throw CLIError("rebuild failed: \(progress["error"] as? String ?? "?")") }
                    return
                }
            }
        }
    }
}

/// Small HTTP helpers for the aggregator commands.
enum AggregatorHTTP {
    static func get(_ url: String) async throws -> (Data, Int) {
        try await send(HTTPClientRequest(url: url))
    }

    static func post(_ url: String) async throws -> (Data, Int) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        return try await send(request)
    }

    private static func send(_ request: HTTPClientRequest) async throws -> (Data, Int) {
        var request = request
        await request.authorize()
        do {
            let response = try await CLIHTTP.client.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
            return (Data(buffer: body), Int(response.status.code))
        } catch {
            throw CLIError("the aggregator at \(request.url) did not answer (\(CLIHTTP.reason(error))); is `make up` running?")
        }
    }

    static func message(_ data: Data) -> String {
        ((try? JSONSerialization.jsonObject(with: data)) as? [String: [String: String]])?["error"]?["message"] ?? String(decoding: data, as: UTF8.self)
    }
}
