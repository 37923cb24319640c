import Foundation
import Synchronization

/// How fresh the projections are, as every read reports it.
public struct Freshness: Sendable, Hashable, Codable {
    public struct Source: Sendable, Hashable, Codable {
        /// When the newest event applied from this source occurred.
        public var lastEventAt: Date?
        /// Seconds since then.
        public var ageSeconds: Double?
        /// Events published but not applied yet (nil when the broker's positions are unknown).
        public var lagMessages: Int64?
        public var eventsApplied: Int
    }

    /// The occurred-at of the newest event applied.
    public var asOf: Date?
    /// 0 when every source is caught up; otherwise the age of the oldest source behind.
    public var stalenessMilliseconds: Double
    public var sources: [String: Source]
}

/// Tracks the broker's high watermarks (polled by `WatermarkPoller`) against the stored
/// positions, to report each source's lag.
final class FreshnessTracker: Sendable {
    /// `topic[partition]` → next offset to be written.
    private let watermarks = Mutex<[String: Int64]>([:])
    /// Topic name → source name (a source may have several topics).
    let topics: [String: String]
    /// The last report, reused for `reuseFor` (every read reports freshness; computing it
    /// reads the positions and sources tables).
    private let last = Mutex<(report: Freshness, at: ContinuousClock.Instant)?>(nil)
    private let reuseFor: Duration = .milliseconds(100)

    init(topics: [String: String]) {
        self.topics = topics
    }

    func update(_ marks: [String: Int64]) {
        watermarks.withLock { $0 = marks }
    }

    var knowsWatermarks: Bool { watermarks.withLock { !$0.isEmpty } }

    func report(store: ProjectionStore, now: Date) async throws -> Freshness {
        if let cached = last.withLock({ $0 }), ContinuousClock.now - cached.at < reuseFor { return cached.report }
        let report = try await compute(store: store, now: now)
        last.withLock { $0 = (report, .now) }
        return report
    }

    private func compute(store: ProjectionStore, now: Date) async throws -> Freshness {
        let positions = try await store.positions()
        let applied = try await store.sources()
        let marks = watermarks.withLock { $0 }
        var sources: [String: Freshness.Source] = [:]
        var staleness = 0.0
        for (source, sourceTopics) in Dictionary(grouping: topics.keys, by: { topics[$0]! }) {
            var lag: Int64?
            if !marks.isEmpty {
                let prefixes = sourceTopics.map { $0 + "[" }
                lag = marks.filter { mark in prefixes.contains { mark.key.hasPrefix($0) } }.reduce(Int64(0)) { sum, mark in
                    sum + max(0, mark.value - (positions[mark.key] ?? 0))
                }
            }
            let last = applied[source]?.lastEventAt
            let age = last.map { now.timeIntervalSince($0) }
            if let lag, lag > 0 { staleness = max(staleness, (age ?? 0) * 1000) }
            sources[source] = .init(lastEventAt: last, ageSeconds: age, lagMessages: lag, eventsApplied: applied[source]?.events ?? 0)
        }
        let asOf = applied.values.map(\.lastEventAt).max()
        return Freshness(asOf: asOf, stalenessMilliseconds: staleness, sources: sources)
    }
}
