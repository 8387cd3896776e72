/// Running health of one provider: success-rate and latency EWMAs plus windows of recent
/// latencies and times to first token for percentiles. Pure; times are passed in.
///
/// Recording is O(1); a percentile sorts the window (at most ``sampleCapacity`` values) on
/// first query after a record and is cached until the next one.
package struct RouteHealth: Sendable {
    /// Samples kept per window (latency and TTFT each).
    package static let sampleCapacity = 128

    /// Weight of a new observation in the EWMAs (0...1).
    package let alpha: Double
    /// EWMA of success (1) and failure (0); starts optimistic at 1.
    package private(set) var successRate: Double = 1
    /// EWMA of whole-request latency of successes, in milliseconds; `nil` before the first.
    package private(set) var latencyEwmaMs: Double?
    /// EWMA of time to first token of successes, in milliseconds.
    package private(set) var ttftEwmaMs: Double?
    /// Successful attempts recorded.
    package private(set) var successes: Int = 0
    /// Failed attempts recorded.
    package private(set) var failures: Int = 0

    private var latency = SampleWindow()
    private var ttft = SampleWindow()

    /// Starts with no history.
    package init(alpha: Double = 0.1) { self.alpha = alpha }

    /// A success that took `latencyMs` in all and `ttftMs` to its first byte.
    package mutating func recordSuccess(latencyMs: Double, ttftMs: Double) {
        successes += 1
        successRate += alpha * (1 - successRate)
        latencyEwmaMs = latencyEwmaMs.map { $0 + alpha * (latencyMs - $0) } ?? latencyMs
        ttftEwmaMs = ttftEwmaMs.map { $0 + alpha * (ttftMs - $0) } ?? ttftMs
        latency.append(latencyMs)
        ttft.append(ttftMs)
    }

    /// A failed attempt (error status, connection error, timeout).
    package mutating func recordFailure() {
        failures += 1
        successRate += alpha * (0 - successRate)
    }

    /// The `q` quantile (0...1) of recent whole-request latencies, in ms; `nil` when empty.
    package mutating func latencyPercentile(_ q: Double) -> Double? { latency.percentile(q) }
    /// The `q` quantile of recent times to first token, in ms; `nil` when empty.
    package mutating func ttftPercentile(_ q: Double) -> Double? { ttft.percentile(q) }
    /// TTFT samples in the window.
    package var ttftSampleCount: Int { ttft.count }
}

/// A ring of the last ``RouteHealth/sampleCapacity`` samples with a cached sorted copy.
struct SampleWindow: Sendable {
    private var ring: [Double] = []
    private var next = 0
    private var sorted: [Double] = []
    private var sortedValid = true

    var count: Int { ring.count }

    mutating func append(_ value: Double) {
        if ring.count < RouteHealth.sampleCapacity {
            ring.append(value)
        } else {
            ring[next] = value
            next = (next + 1) % RouteHealth.sampleCapacity
        }
        sortedValid = false
    }

    /// Nearest-rank quantile.
    mutating func percentile(_ q: Double) -> Double? {
        guard !ring.isEmpty else { return nil }
        if !sortedValid {
            sorted = ring.sorted()
            sortedValid = true
        }
        let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
