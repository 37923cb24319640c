import Contracts
import Foundation

/// `Docs/comparison.md` and its latency chart, written from one comparison's figures.
struct ComparisonReport {
    let result: ComparisonResult

    func write(markdownPath: String) throws {
        let url = URL(fileURLWithPath: markdownPath)
        let chartName = url.deletingPathExtension().lastPathComponent + "-latency.svg"
        let chartURL = url.deletingLastPathComponent().appendingPathComponent(chartName)
        try chart.write(to: chartURL, atomically: true, encoding: .utf8)
        try markdown(chart: chartName).write(to: url, atomically: true, encoding: .utf8)
    }

    static func table(_ columns: [String], _ rows: [[String]]) -> String {
        let escape = { (text: String) in text.replacingOccurrences(of: "|", with: "\\|") }
        return ([columns, columns.map { _ in "---" }] + rows).map { "| " + $0.map(escape).joined(separator: " | ") + " |" }.joined(separator: "\n")
    }

    func markdown(chart: String) -> String {
        let columns = ["measure"] + CheckoutMode.allCases.map(\.rawValue)
        let date = Date().formatted(Date.ISO8601FormatStyle().year().month().day())
        var text = """
        # Orchestration and choreography, compared

        Written by `make compare` (`ensemble bench compare --markdown Docs/comparison.md`) on
        \(date), against a release build of the stack (`ensemble up`: every service in one
        process, the embedded broker beside it) on the machine that ran it. The same
        generated workload — \(result.orders) orders per mode, \(result.concurrency) in flight,
        mix `\(result.mix)` — runs orchestrated and choreographed: one mode after the
        other, then both at once, then each mode with a participant stopped mid-run.
        Latency is from `POST /orders` to reading the order's outcome event; messages,
        bytes and hops are read off every topic; correctness is asked of the payment and
        inventory services for every order. How to run it and what each line means:
        [choreography.md](choreography.md).

        ## One mode after the other

        \(Self.table(columns, result.rows(result.sequential)))

        ![End-to-end latency, cumulative, one mode after the other](\(chart))

        ## Both modes at once

        \(Self.table(columns, result.rows(result.interleaved)))

        """
        if !result.failure.isEmpty {
            text += """

            ## A participant stopped mid-run

            \(Self.table(columns, result.failureRows))

            """
        }
        text += """

        ## Structure, from the declared flows

        \(Self.table(columns, result.structureRows))

        ## Reading

        \(reading.map { "- " + $0 }.joined(separator: "\n"))

        """
        return text
    }

    /// Sentences computed from the figures, so the reading stays true to the table.
    var reading: [String] {
        guard let orchestrated = result.run(result.sequential, .orchestration), let choreographed = result.run(result.sequential, .choreography) else { return [] }
        func ratio(_ a: Double, _ b: Double) -> String { b > 0 ? format(a / b, 2) + "×" : "n/a" }
        var lines = [
            "Throughput: choreography completed \(format(choreographed.completedPerSecond, 1)) orders/s, orchestration \(format(orchestrated.completedPerSecond, 1)) (\(ratio(choreographed.completedPerSecond, orchestrated.completedPerSecond)) the orchestrated rate).",
            "Latency: the median order took \(format(choreographed.latencyP50Milliseconds, 1)) ms choreographed and \(format(orchestrated.latencyP50Milliseconds, 1)) ms orchestrated; at p99, \(format(choreographed.latencyP99Milliseconds, 1)) and \(format(orchestrated.latencyP99Milliseconds, 1)) ms.",
            "Traffic: \(format(choreographed.messagesPerOrder, 1)) Kafka messages (\(format(choreographed.bytesPerOrder, 0)) bytes) per choreographed order against \(format(orchestrated.messagesPerOrder, 1)) (\(format(orchestrated.bytesPerOrder, 0)) bytes) orchestrated. Each orchestrated step is three records (the command, the reply, and the answer again as an event for the read side); a choreographed step is one event, read by every service that subscribes to it. Choreographed records are larger (\(format(choreographed.bytesPerOrder / max(choreographed.messagesPerOrder, 1), 0)) against \(format(orchestrated.bytesPerOrder / max(orchestrated.messagesPerOrder, 1), 0)) bytes on average): they carry the order's data.",
            "Hops: the happy path is \(choreographed.happyPathHops.map(String.init) ?? "?") sequential messages from order-placed to order-completed choreographed, \(orchestrated.happyPathHops.map(String.init) ?? "?") orchestrated: each orchestrated step goes to the orchestrator and back.",
        ]
        let correct = [orchestrated, choreographed] + result.interleaved
        lines.append(correct.allSatisfy(\.correct)
            ? "Correctness: in every phase every order ended, each as its kind's rules say, nothing was captured for an order that did not complete, no reservation was left open, and the stock sold equals the orders completed."
            : "Correctness: NOT every check passed; see the `correct` rows.")
        if let o = result.failure.first(where: { $0.mode == .orchestration }), let c = result.failure.first(where: { $0.mode == .choreography }) {
            let explanation = o.happyNotCompleted > c.happyNotCompleted
                ? " Orchestrated, a step whose participant does not answer times out, is retried, falls back, and the saga compensates; choreographed, the events wait in Kafka until the participant is back, and only shipping's deadline (30 s) would end an order."
                : ""
            lines.append("With \(o.stopped) stopped for \(o.stoppedSeconds) s: \(o.lost) orchestrated and \(c.lost) choreographed orders had no outcome within the bench's timeout; \(o.happyNotCompleted) orchestrated and \(c.happyNotCompleted) choreographed orders that would have completed did not; the slowest order took \(format(o.timeToTerminalMaxMilliseconds / 1000, 1)) s orchestrated and \(format(c.timeToTerminalMaxMilliseconds / 1000, 1)) s choreographed to end." + explanation)
        }
        lines.append("CPU: \(orchestrated.stackCPUMillisecondsPerOrder.map { format($0, 1) } ?? "?") ms of the stack process and \(orchestrated.brokerCPUMillisecondsPerOrder.map { format($0, 1) } ?? "?") ms of the broker per orchestrated order, \(choreographed.stackCPUMillisecondsPerOrder.map { format($0, 1) } ?? "?") and \(choreographed.brokerCPUMillisecondsPerOrder.map { format($0, 1) } ?? "?") ms per choreographed one. The handler times per service are wall time, waits for each service's database included; the aggregator's (the same read side in both modes) is mostly that.")
        lines.append("Structure: orchestrated, each participant reads one topic (its commands) and the checkout's order, rules and premium-shipping decision live in one versioned definition; choreographed, the flow is spread over the services' subscriptions (shipping reads four topics), the shipping rule lives in shipping, and inserting a step after verification changes \(result.structure.changeToAddStepAfterVerification[CheckoutMode.choreography.rawValue]?.count ?? 0) services instead of one definition.")
        return lines
    }

    /// Cumulative distribution of end-to-end latency, one line per mode.
    var chart: String {
        let series = CheckoutMode.allCases.compactMap { mode in result.run(result.sequential, mode).map { (mode, $0.latencies) } }
        let width = 720.0, height = 360.0, left = 60.0, right = 40.0, top = 40.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let p99 = series.map { Percentile.of($0.1, 0.99) }.max() ?? 1
        let xMax = max(1, Self.niceCeiling(p99 * 1.1))
        let colors: [CheckoutMode: String] = [.orchestration: "#1f6feb", .choreography: "#d97706"]
        func x(_ value: Double) -> Double { left + min(value, xMax) / xMax * plotWidth }
        func y(_ fraction: Double) -> Double { top + (1 - fraction) * plotHeight }
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(Int(left))" y="24" font-size="14">End-to-end latency, share of orders finished within (cumulative); x axis cut at about p99</text>

        """
        for tick in 0...5 {
            let value = xMax * Double(tick) / 5
            svg += "<line x1=\"\(f(x(value)))\" y1=\"\(f(top))\" x2=\"\(f(x(value)))\" y2=\"\(f(top + plotHeight))\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(f(x(value)))\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"middle\">\(format(value, value < 10 ? 1 : 0)) ms</text>\n"
            let fraction = Double(tick) / 5
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(fraction)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y(fraction)))\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(f(left - 8))\" y=\"\(f(y(fraction) + 4))\" text-anchor=\"end\">\(Int(fraction * 100)) %</text>\n"
        }
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(top + plotHeight))\" stroke=\"#333\"/>\n"
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotHeight))\" stroke=\"#333\"/>\n"
        for (index, (mode, latencies)) in series.enumerated() where !latencies.isEmpty {
            let step = max(1, latencies.count / 300)
            var points = ["\(f(x(0))),\(f(y(0)))"]
            for position in Swift.stride(from: 0, to: latencies.count, by: step) {
                let fraction = Double(position + 1) / Double(latencies.count)
                points.append("\(f(x(latencies[position]))),\(f(y(fraction)))")
            }
            points.append("\(f(x(latencies.last!))),\(f(y(1)))")
            let color = colors[mode] ?? "#333"
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>\n"
            let legendY = top + plotHeight - 36 + Double(index) * 18
            svg += "<line x1=\"\(f(left + plotWidth - 190))\" y1=\"\(f(legendY - 4))\" x2=\"\(f(left + plotWidth - 166))\" y2=\"\(f(legendY - 4))\" stroke=\"\(color)\" stroke-width=\"3\"/>\n"
            svg += "<text x=\"\(f(left + plotWidth - 160))\" y=\"\(f(legendY))\">\(mode.rawValue), p50 \(format(Percentile.of(latencies, 0.5), 0)) ms</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// A round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten) at least `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let power = pow(10, floor(log10(value)))
        for multiple in [1.0, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10] where multiple * power >= value { return multiple * power }
        return 10 * power
    }
}
