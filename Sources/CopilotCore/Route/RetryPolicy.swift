import Foundation

/// How one failed attempt is classified, which decides whether another is worth making.
package enum AttemptFailure: Sendable, Equatable {
    /// HTTP 429; `retryAfterMs` from the `Retry-After` header when it had one.
    case rateLimited(retryAfterMs: Int?)
    /// HTTP 5xx, or a 503 with `retryAfterMs`.
    case serverError(status: Int, retryAfterMs: Int?)
    /// Connection refused, reset or closed before an answer.
    case connection
    /// No first byte within `ttft_timeout_ms`, or no whole answer within `timeout_ms`.
    case timeout
    /// The upstream answered something that is not an OpenAI response (non-JSON).
    case invalidResponse
    /// HTTP 4xx other than 408 and 429: the request itself is at fault; another provider would
    /// refuse it too, so the error goes back to the client.
    case clientError(status: Int)

    /// Whether another attempt (elsewhere, or later) may succeed.
    package var isRetryable: Bool {
        if case .clientError = self { return false }
        return true
    }

    /// The provider's own wait, if it named one.
    package var retryAfterMs: Int? {
        switch self {
        case .rateLimited(let ms), .serverError(_, let ms): ms
        default: nil
        }
    }

    /// Classifies an HTTP status that is not 2xx; `retryAfter` is the raw header value.
    package static func forStatus(_ status: Int, retryAfter: String?) -> AttemptFailure {
        let after = retryAfter.flatMap(RetryPolicy.parseRetryAfterMs)
        switch status {
        case 429: return .rateLimited(retryAfterMs: after)
        case 408: return .timeout
        case 500...599: return .serverError(status: status, retryAfterMs: after)
        default: return .clientError(status: status)
        }
    }
}

/// Retries: how many attempts a request may make in all (across providers), and the
/// exponential backoff with full jitter used before trying a provider again.
package struct RetryPolicy: Sendable, Equatable {
    /// Attempts per request, first one included, across all providers.
    package var maxAttempts: Int
    /// Backoff before the first repeat, in milliseconds.
    package var baseDelayMs: Int
    /// Backoff cap, in milliseconds (a `Retry-After` may ask for longer, within the deadline).
    package var maxDelayMs: Int

    /// 3 attempts, 50 ms doubling to at most 2 s.
    package static let defaults = RetryPolicy(maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 2_000)

    /// Memberwise.
    package init(maxAttempts: Int, baseDelayMs: Int, maxDelayMs: Int) {
        self.maxAttempts = maxAttempts
        self.baseDelayMs = baseDelayMs
        self.maxDelayMs = maxDelayMs
    }

    /// Backoff before repeat number `retry` (1 = first repeat) in nanoseconds: uniform in
    /// [cap/2, cap] where cap = min(max, base * 2^(retry-1)) ("equal jitter": never zero, so
    /// a hot provider gets a real pause, and spread so clients do not retry in step).
    package func backoffNs<G: RandomNumberGenerator>(retry: Int, using generator: inout G) -> UInt64 {
        let exponent = min(max(retry - 1, 0), 30)
        let capMs = min(Double(maxDelayMs), Double(baseDelayMs) * Double(1 << exponent))
        let capNs = capMs * 1e6
        let unit = Double(generator.next() >> 11) * 0x1p-53
        return UInt64(capNs / 2 + unit * capNs / 2)
    }

    /// `Retry-After` in milliseconds: delay-seconds (`"2"`, `"1.5"`) only; an HTTP date or a
    /// negative or absurd value yields `nil` (the backoff applies instead).
    package static func parseRetryAfterMs(_ value: String) -> Int? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard let seconds = Double(trimmed), seconds >= 0, seconds <= 86_400 else { return nil }
        return Int((seconds * 1000).rounded(.up))
    }
}

/// Hedging: when the first provider has not sent its first byte after its own p95 TTFT,
/// a second provider is asked too; the first answer wins and the other is cancelled.
package struct HedgePolicy: Sendable, Equatable {
    /// TTFT samples the primary needs before its p95 is trusted (no hedge before that).
    package var minSamples: Int
    /// Never hedge sooner than this, in milliseconds.
    package var minDelayMs: Int

    /// 20 samples, 10 ms floor.
    package static let defaults = HedgePolicy(minSamples: 20, minDelayMs: 10)

    /// Memberwise.
    package init(minSamples: Int, minDelayMs: Int) {
        self.minSamples = minSamples
        self.minDelayMs = minDelayMs
    }

    /// Delay after which to start a hedge against a primary with this health, in nanoseconds;
    /// `nil` when there is no second candidate or too little history.
    package func hedgeDelayNs(primary health: inout RouteHealth, candidates: Int) -> UInt64? {
        guard candidates >= 2, health.ttftSampleCount >= minSamples, let p95 = health.ttftPercentile(0.95) else { return nil }
        return UInt64(max(p95, Double(minDelayMs)) * 1e6)
    }
}
