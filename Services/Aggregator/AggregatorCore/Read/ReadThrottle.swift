import Foundation
import Hummingbird
import ServiceKit
import Synchronization

/// A token bucket per client (the `X-Client-Id` header, or `anonymous`): `rate` reads per
/// second with bursts up to `burst`. Over the limit a read is refused with 429 and a
/// `Retry-After` saying when a token is back. Health, metrics and /admin are not throttled.
struct ReadThrottle<Context: RequestContext>: RouterMiddleware {
    final class Buckets: Sendable {
        private struct Bucket {
            var tokens: Double
            var updated: ContinuousClock.Instant
        }

        let rate: Double
        let burst: Double
        private let buckets = Mutex<[String: Bucket]>([:])

        init(rate: Double, burst: Double) {
            self.rate = max(rate, 0.001)
            self.burst = max(burst, 1)
        }

        /// Takes a token for `client`; returns nil when it may go on, or the seconds to wait.
        func take(_ client: String, now: ContinuousClock.Instant = .now) -> Double? {
            buckets.withLock { all in
                var bucket = all[client] ?? Bucket(tokens: burst, updated: now)
                let elapsed = now - bucket.updated
                bucket.tokens = min(burst, bucket.tokens + (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * rate)
                bucket.updated = now
                defer { all[client] = bucket }
                guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / rate }
                bucket.tokens -= 1
                return nil
            }
        }
    }

    let buckets: Buckets

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard request.method == .get, !path.hasPrefix("/health"), !path.hasPrefix("/admin"), path != "/metrics" else { return try await next(request, context) }
        let client = request.headers[.init("X-Client-Id")!] ?? "anonymous"
        if let wait = buckets.take(client) {
            var response = try ServiceHTTPServer.jsonResponse(.tooManyRequests, ["error": ["code": "throttled", "message": "client '\(client)' is over \(Int(buckets.rate)) reads per second"]])
            response.headers[.retryAfter] = String(max(1, Int(wait.rounded(.up))))
            return response
        }
        return try await next(request, context)
    }
}
