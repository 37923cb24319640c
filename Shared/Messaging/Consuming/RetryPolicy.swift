import Foundation
import Kafka

/// Exponential backoff: `attempts` tries in all, waiting `initialBackoff`, then
/// `initialBackoff × multiplier`, ... capped at `maxBackoff`, between them. In JSON,
/// `attempts` may be left out (one try; a saga's retriable steps ignore it).
public struct RetryPolicy: Sendable, Hashable, Codable {
    public var attempts: Int
    public var initialBackoff: Duration
    public var multiplier: Double
    public var maxBackoff: Duration

    public init(attempts: Int, initialBackoff: Duration, multiplier: Double = 2, maxBackoff: Duration = .seconds(30)) {
        self.attempts = max(1, attempts)
        self.initialBackoff = initialBackoff
        self.multiplier = max(1, multiplier)
        self.maxBackoff = maxBackoff
    }

    /// Three tries, 100 ms then 200 ms apart.
    public static let handlerDefault = RetryPolicy(attempts: 3, initialBackoff: .milliseconds(100), multiplier: 2, maxBackoff: .seconds(2))

    /// The wait after failed attempt number `attempt` (1-based).
    public func backoff(after attempt: Int) -> Duration {
        let delay = initialBackoff * Foundation.pow(multiplier, Double(max(0, attempt - 1)))
        return min(delay, maxBackoff)
    }

    enum CodingKeys: String, CodingKey {
        case attempts, initialBackoffMilliseconds, multiplier, maxBackoffMilliseconds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            attempts: try container.decodeIfPresent(Int.self, forKey: .attempts) ?? 1,
            initialBackoff: .milliseconds(try container.decode(Int64.self, forKey: .initialBackoffMilliseconds)),
            multiplier: try container.decodeIfPresent(Double.self, forKey: .multiplier) ?? 2,
            maxBackoff: .milliseconds(try container.decodeIfPresent(Int64.self, forKey: .maxBackoffMilliseconds) ?? 30_000)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(initialBackoff.wholeMilliseconds, forKey: .initialBackoffMilliseconds)
        try container.encode(multiplier, forKey: .multiplier)
        try container.encode(maxBackoff.wholeMilliseconds, forKey: .maxBackoffMilliseconds)
    }
}
