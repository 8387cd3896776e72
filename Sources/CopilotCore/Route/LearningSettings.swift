import Foundation

/// Which ranking policy the gateway uses (`[route] policy`).
package enum SelectionPolicy: String, CaseIterable, Sendable {
    /// ``ThompsonSelector``: learns each task's best provider from outcomes and feedback.
    case thompson
    /// ``HealthWeightedSelector``: static weights scaled by health, learns nothing.
    case health
}

/// Where the gateway keeps what it learned (`[route] state`).
package enum LearningStateBackend: String, CaseIterable, Sendable {
    /// `redis` when the cache is on Redis (`[cache] backend = "redis"`, or `tiered` over
    /// Redis), `sqlite` otherwise: gateways that share a cache share what they learn.
    case auto
    /// A SQLite file (`state_path`), written in one transaction per change.
    case sqlite
    /// The Redis of `[cache] url`, shared by every gateway on it (``RedisRouteState``).
    case redis
    /// Nothing is kept: every start is a fresh start.
    case off
}

/// The learning keys of `[route]`: the selection policy, how fast evidence fades, what
/// latency and cost are worth against quality, how long feedback may arrive, and where the
/// state lives.
package struct LearningSettings: Sendable, Equatable {
    /// Ranking policy.
    package var policy: SelectionPolicy
    /// Weight a provider's older evidence keeps per new event of it for the same task
    /// (0.5...1): 0.995 remembers about its last 200 events, 1 never forgets (see
    /// ``ThompsonSelector`` for idle fading and change detection).
    package var forgetting: Double
    /// Quality (on the 0...1 scale) given up per unit of `cost_input_per_1k + cost_output_per_1k`.
    package var costWeight: Double
    /// Quality given up per budget overrun: a provider whose latency EWMA is twice the task's
    /// budget loses `latencyPenalty`.
    package var latencyPenalty: Double
    /// Evidence one attempt's success (1) or failure (0) adds, against 1 for a feedback score.
    package var outcomeWeight: Double
    /// Seconds after an answer during which its request id takes feedback.
    package var feedbackTTLSeconds: Int
    /// Answers remembered for feedback at once (the oldest are forgotten first).
    package var feedbackCapacity: Int
    /// Where the posteriors and the tuner's observations are kept.
    package var state: LearningStateBackend
    /// The SQLite file; empty: `~/.cache/copilot/route-state.sqlite`.
    package var statePath: String

    /// Thompson sampling, γ = 0.995, cost weight 0.05, latency penalty 0.5, outcome weight
    /// 0.25, feedback for an hour (up to 100,000 answers), state in SQLite (in Redis when the
    /// cache is there).
    package static let defaults = LearningSettings(
        policy: .thompson, forgetting: 0.995, costWeight: 0.05, latencyPenalty: 0.5, outcomeWeight: 0.25,
        feedbackTTLSeconds: 3600, feedbackCapacity: 100_000, state: .auto, statePath: "")

    /// Every key these settings read from `[route]`.
    package static let keys = [
        "policy", "forgetting", "cost_weight", "latency_penalty", "outcome_weight", "feedback_ttl", "feedback_capacity",
        "state", "state_path",
    ]

    /// Memberwise.
    package init(
        policy: SelectionPolicy, forgetting: Double, costWeight: Double, latencyPenalty: Double, outcomeWeight: Double,
        feedbackTTLSeconds: Int, feedbackCapacity: Int, state: LearningStateBackend, statePath: String
    ) {
        self.policy = policy
        self.forgetting = forgetting
        self.costWeight = costWeight
        self.latencyPenalty = latencyPenalty
        self.outcomeWeight = outcomeWeight
        self.feedbackTTLSeconds = feedbackTTLSeconds
        self.feedbackCapacity = feedbackCapacity
        self.state = state
        self.statePath = statePath
    }

    /// The state file: `state_path`, or `route-state.sqlite` under the user's cache directory.
    package func resolvedStatePath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        CacheSettings.userCacheFile(statePath, default: "route-state.sqlite", environment: environment)
    }

    /// Where a gateway with these settings and this cache keeps what it learns: `off` when it
    /// learns nothing (`policy = "health"`) or keeps it in memory only.
    package func backend(cache: CacheSettings) -> LearningStateBackend {
        guard policy != .health else { return .off }
        guard state == .auto else { return state }
        return cache.usesRedis ? .redis : .sqlite
    }

    /// The state file a gateway with these settings keeps, or nil when it keeps none
    /// (`policy = "health"` learns nothing; `state = "off"` keeps it in memory only; with
    /// Redis it keeps it there).
    package func stateFile(cache: CacheSettings, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        backend(cache: cache) == .sqlite ? resolvedStatePath(environment: environment) : nil
    }

    /// The shared Redis state a gateway with these settings and this cache uses, or nil when it
    /// keeps its state elsewhere. Throws for a malformed `[cache] url`.
    package func sharedState(cache: CacheSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RedisRouteState? {
        guard backend(cache: cache) == .redis else { return nil }
        return RedisRouteState(url: try RedisURL(cache.url, environment: environment), namespace: cache.namespace + ":", timeoutMs: cache.redisTimeoutMs)
    }

    init(section s: ConfigurationSection) throws {
        let d = Self.defaults
        self.init(
            policy: try s.choice("policy", default: d.policy),
            forgetting: try s.double("forgetting", default: d.forgetting, in: 0.5...1),
            costWeight: try s.double("cost_weight", default: d.costWeight, in: 0...1e6),
            latencyPenalty: try s.double("latency_penalty", default: d.latencyPenalty, in: 0...1e6),
            outcomeWeight: try s.double("outcome_weight", default: d.outcomeWeight, in: 0...1),
            feedbackTTLSeconds: try s.int("feedback_ttl", default: d.feedbackTTLSeconds, in: 1...30 * 86_400),
            feedbackCapacity: try s.int("feedback_capacity", default: d.feedbackCapacity, in: 1...10_000_000),
            state: try s.choice("state", default: d.state),
            statePath: try s.string("state_path", default: d.statePath))
    }
}
