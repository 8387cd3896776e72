import CopilotCore
import Foundation
import Synchronization

/// A cumulative histogram with fixed upper bounds, in seconds (Prometheus `_bucket`, `_sum`,
/// `_count`).
struct Histogram: Sendable {
    let bounds: [Double]
    private(set) var counts: [UInt64]
    private(set) var sum = 0.0
    private(set) var count: UInt64 = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ seconds: Double) {
        sum += seconds
        count += 1
        // Non-cumulative per bucket; rendered cumulatively.
        for i in bounds.indices where seconds <= bounds[i] {
            counts[i] += 1
            return
        }
    }

    func render(name: String, labels: String, into text: inout String) {
        var cumulative: UInt64 = 0
        let sep = labels.isEmpty ? "" : ","
        for (i, bound) in bounds.enumerated() {
            cumulative += counts[i]
            text += "\(name)_bucket{\(labels)\(sep)le=\"\(bound)\"} \(cumulative)\n"
        }
        text += "\(name)_bucket{\(labels)\(sep)le=\"+Inf\"} \(count)\n"
        let braces = labels.isEmpty ? "" : "{\(labels)}"
        text += "\(name)_sum\(braces) \(sum)\n"
        text += "\(name)_count\(braces) \(count)\n"
    }
}

/// The gateway's counters and histograms, rendered as Prometheus text on `GET /metrics`.
/// Names follow LiteLLM's (`litellm_requests_total` becomes `copilot_requests_total`, and so
/// on). Labels carry provider and model names only, never a key or a prompt.
package final class GatewayMetrics: Sendable {
    private struct ProviderCounters: Sendable {
        var requests: UInt64 = 0
        var errors: UInt64 = 0
        var latency = Histogram(bounds: GatewayMetrics.upstreamBounds)
        var ttft = Histogram(bounds: GatewayMetrics.upstreamBounds)
    }

    private struct State: Sendable {
        var requests: [Int: UInt64] = [:]  // status code -> count (an Int key: no string per request)
        var fallbacks: UInt64 = 0
        var hedges: UInt64 = 0
        var cacheHits: UInt64 = 0
        var cacheMisses: UInt64 = 0
        var retries: UInt64 = 0
        var providers: [ProviderCounters]
        var overhead = Histogram(bounds: GatewayMetrics.overheadBounds)
    }

    static let upstreamBounds = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    static let overheadBounds = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01]

    private let providerNames: [String]
    private let state: Mutex<State>

    /// Counters for these providers (indexed as in the router).
    package init(providerNames: [String]) {
        self.providerNames = providerNames
        state = Mutex(State(providers: Array(repeating: ProviderCounters(), count: providerNames.count)))
    }

    /// One client request answered with `status`.
    func request(status: Int, overheadSeconds: Double?) {
        state.withLock { s in
            s.requests[status, default: 0] += 1
            if let overheadSeconds { s.overhead.observe(overheadSeconds) }
        }
    }

    /// One upstream attempt on `provider`.
    func attempt(provider: Int, success: Bool, latencySeconds: Double?, ttftSeconds: Double?) {
        state.withLock { s in
            s.providers[provider].requests += 1
            if !success { s.providers[provider].errors += 1 }
            if let latencySeconds { s.providers[provider].latency.observe(latencySeconds) }
            if let ttftSeconds { s.providers[provider].ttft.observe(ttftSeconds) }
        }
    }

    /// Fallbacks and retries of one finished request.
    func failover(fallbacks: Int, retries: Int) {
        guard fallbacks > 0 || retries > 0 else { return }
        state.withLock { s in
            s.fallbacks += UInt64(fallbacks)
            s.retries += UInt64(retries)
        }
    }

    /// One hedge started.
    func hedge() { state.withLock { $0.hedges += 1 } }

    /// One cacheable request answered from the cache (`hit`) or sent upstream.
    func cache(hit: Bool) { state.withLock { if hit { $0.cacheHits += 1 } else { $0.cacheMisses += 1 } } }

    /// Client requests answered so far, by status.
    package var requestCounts: [String: UInt64] {
        let counts = state.withLock { $0.requests }
        return Dictionary(uniqueKeysWithValues: counts.map { (String($0.key), $0.value) })
    }

    /// Upstream attempts and failures per provider name.
    package var providerCounts: [String: (requests: UInt64, errors: UInt64)] {
        state.withLock { s in
            var result: [String: (requests: UInt64, errors: UInt64)] = [:]
            for (i, name) in providerNames.enumerated() { result[name] = (s.providers[i].requests, s.providers[i].errors) }
            return result
        }
    }

    /// Prometheus text exposition; `breakers` gives each provider's state and in-flight count.
    func render(breakers: [(state: BreakerState, inFlight: Int)]) -> String {
        state.withLock { s in
            var text = "# HELP copilot_requests_total Client requests answered, by HTTP status.\n# TYPE copilot_requests_total counter\n"
            for (status, n) in s.requests.sorted(by: { String($0.key) < String($1.key) }) { text += "copilot_requests_total{status=\"\(status)\"} \(n)\n" }
            text += "# HELP copilot_fallbacks_total Attempts that went to another provider than the previous one.\n# TYPE copilot_fallbacks_total counter\ncopilot_fallbacks_total \(s.fallbacks)\n"
            text += "# HELP copilot_cache_hits_total Requests answered from the response cache.\n# TYPE copilot_cache_hits_total counter\ncopilot_cache_hits_total \(s.cacheHits)\n"
            text += "# HELP copilot_cache_misses_total Cacheable requests sent upstream (the answer is then stored).\n# TYPE copilot_cache_misses_total counter\ncopilot_cache_misses_total \(s.cacheMisses)\n"
            text += "# HELP copilot_hedges_total Second attempts started because the first had not answered by its p95 TTFT.\n# TYPE copilot_hedges_total counter\ncopilot_hedges_total \(s.hedges)\n"
            text += "# HELP copilot_retries_total Repeat attempts after every candidate was tried.\n# TYPE copilot_retries_total counter\ncopilot_retries_total \(s.retries)\n"
            text += "# HELP copilot_provider_requests_total Upstream attempts per provider.\n# TYPE copilot_provider_requests_total counter\n"
            for (i, name) in providerNames.enumerated() { text += "copilot_provider_requests_total{provider=\"\(name)\"} \(s.providers[i].requests)\n" }
            text += "# HELP copilot_provider_errors_total Failed upstream attempts per provider.\n# TYPE copilot_provider_errors_total counter\n"
            for (i, name) in providerNames.enumerated() { text += "copilot_provider_errors_total{provider=\"\(name)\"} \(s.providers[i].errors)\n" }
            text += "# HELP copilot_breaker_state Circuit breaker per provider: 0 closed, 1 open, 2 half-open.\n# TYPE copilot_breaker_state gauge\n"
            for (i, name) in providerNames.enumerated() where i < breakers.count { text += "copilot_breaker_state{provider=\"\(name)\"} \(breakers[i].state.gaugeValue)\n" }
            text += "# HELP copilot_provider_in_flight Attempts in flight per provider.\n# TYPE copilot_provider_in_flight gauge\n"
            for (i, name) in providerNames.enumerated() where i < breakers.count { text += "copilot_provider_in_flight{provider=\"\(name)\"} \(breakers[i].inFlight)\n" }
            text += "# HELP copilot_upstream_latency_seconds Whole upstream attempt, successes.\n# TYPE copilot_upstream_latency_seconds histogram\n"
            for (i, name) in providerNames.enumerated() { s.providers[i].latency.render(name: "copilot_upstream_latency_seconds", labels: "provider=\"\(name)\"", into: &text) }
            text += "# HELP copilot_time_to_first_token_seconds Upstream time to first byte, successes.\n# TYPE copilot_time_to_first_token_seconds histogram\n"
            for (i, name) in providerNames.enumerated() { s.providers[i].ttft.render(name: "copilot_time_to_first_token_seconds", labels: "provider=\"\(name)\"", into: &text) }
            text += "# HELP copilot_overhead_seconds Time the gateway itself added to a request (not the upstream's).\n# TYPE copilot_overhead_seconds histogram\n"
            s.overhead.render(name: "copilot_overhead_seconds", labels: "", into: &text)
            return text
        }
    }
}
