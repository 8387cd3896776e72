import AsyncHTTPClient
import CopilotCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The gateway's shared state: the core router behind a lock, the upstream callers, the
/// metrics and the request-id counter. One per server; every handler uses it.
package final class Gateway<Selector: ModelSelecting>: Sendable {
    /// The configuration.
    package let settings: RouteSettings
    /// Counters and histograms for `/metrics`.
    package let metrics: GatewayMetrics
    let router: Mutex<ProviderRouter<Selector>>
    let callers: [UpstreamCaller]
    let authToken: String?
    let logger: Logger
    /// Source of `x-copilot-request-id`.
    let requestIDs = RequestIDs()
    /// The response cache, if any.
    let cache: GatewayCache?
    /// Feedback and saved state; nil when `[route] policy` learns nothing.
    let learning: GatewayLearning?

    init(
        settings: RouteSettings, selector: Selector, client: HTTPClient, authToken: String?, environment: [String: String], logger: Logger,
        cache: GatewayCache? = nil, learningStore: RouteStateStore? = nil, sharedLearning: RedisRouteState? = nil,
        observations: [String: [TuningObservation]] = [:]
    ) {
        self.settings = settings
        self.cache = cache
        learning = Selector.learns ? GatewayLearning(settings: settings, store: learningStore, shared: sharedLearning, observations: observations) : nil
        self.authToken = authToken
        self.logger = logger
        metrics = GatewayMetrics(providerNames: settings.providers.map(\.name))
        router = Mutex(ProviderRouter(settings: settings, selector: selector))
        callers = settings.providers.enumerated().map { i, p in
            let key = p.apiKeyEnv.flatMap { environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
            let base = p.baseURL.hasSuffix("/") ? String(p.baseURL.dropLast()) : p.baseURL
            let url = URL(string: base)
            var pool: UpstreamConnectionPool?
            if p.kind == .openai, url?.scheme == "http", let host = url?.host {
                pool = UpstreamConnectionPool(host: host, port: url?.port ?? 80, maxIdle: min(p.maxConcurrency, 1024))
            }
            return UpstreamCaller(
                client: client, provider: p, url: base + "/chat/completions", authorization: key.map { "Bearer " + $0 },
                mock: p.kind == .mock ? MockProvider(settings: p, seed: settings.seed &+ UInt64(i) &* 0x9E37_79B9) : nil,
                pool: pool, path: (url?.path ?? "") + "/chat/completions")
        }
    }

    /// A new `x-copilot-request-id`.
    func nextRequestID() -> String { requestIDs.next() }

    /// Each provider's breaker state and in-flight count, for `/metrics` and `/health`.
    func providerStates() -> [(state: BreakerState, inFlight: Int)] {
        let now = monotonicNanoseconds()
        return router.withLock { r in
            r.settings.providers.indices.map { (r.breakerState($0, now: now), r.inFlight[$0]) }
        }
    }

    /// The `/health` document: overall status and, per provider, breaker, in-flight, health
    /// figures and counts (never a key or a URL's credentials).
    func healthDocument() -> (ok: Bool, json: String) {
        let now = monotonicNanoseconds()
        let counts = metrics.providerCounts
        var anyUp = false
        let learns = learning != nil
        let (providers, arms): ([[String: Any]], [LearnedArm]?) = router.withLock { r in
            let providers: [[String: Any]] = r.settings.providers.indices.map { i in
                var h = r.health[i]
                let state = r.breakerState(i, now: now)
                if state != .open { anyUp = true }
                var o: [String: Any] = [
                    "name": r.settings.providers[i].name, "breaker": state.rawValue, "in_flight": r.inFlight[i],
                    "success_rate": h.successRate, "requests": counts[r.settings.providers[i].name]?.requests ?? 0,
                    "errors": counts[r.settings.providers[i].name]?.errors ?? 0, "breaker_openings": r.breakers[i].openings,
                ]
                if let v = h.latencyEwmaMs { o["latency_ewma_ms"] = v }
                if let v = h.ttftEwmaMs { o["ttft_ewma_ms"] = v }
                if let v = h.latencyPercentile(0.5) { o["latency_p50_ms"] = v }
                if let v = h.latencyPercentile(0.99) { o["latency_p99_ms"] = v }
                if let v = h.ttftPercentile(0.5) { o["ttft_p50_ms"] = v }
                if let v = h.ttftPercentile(0.95) { o["ttft_p95_ms"] = v }
                return o
            }
            // What was learned, from the same moment as the health figures.
            return (providers, learns ? r.selector.learnedArms : nil)
        }
        let requests = metrics.requestCounts
        var object: [String: Any] = ["status": anyUp ? "ok" : "down", "providers": providers, "requests": requests]
        if let arms {
            object["learning"] = arms.map { arm -> [String: Any] in
                ["task": arm.task, "provider": arm.provider, "mean": arm.posterior.mean, "evidence": arm.posterior.evidence]
            }
        }
        if let tuning = learning?.tuning { object["tuning"] = tuning.summary() }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return (anyUp, String(decoding: data, as: UTF8.self))
    }

    /// The `/v1/models` document.
    func modelsDocument() -> String {
        let data = settings.modelNames.map { "{\"id\":\(JSONText.quote($0)),\"object\":\"model\",\"created\":0,\"owned_by\":\"copilot\"}" }
        return "{\"object\":\"list\",\"data\":[\(data.joined(separator: ","))]}"
    }

    /// Whether the `Authorization` header carries the configured token (always, when none is set).
    func isAuthorized(_ header: String?) -> Bool {
        guard let authToken else { return true }
        guard let header, header.hasPrefix("Bearer ") else { return false }
        // Constant time in the token's length, so the comparison does not leak a prefix.
        let given = Array(header.utf8.dropFirst(7)), expected = Array(authToken.utf8)
        var diff = given.count ^ expected.count
        for i in 0..<expected.count { diff |= Int(expected[i] ^ (i < given.count ? given[i] : 0)) }
        return diff == 0
    }
}

/// Request ids unique across restarts in practice: a random per-process prefix and a counter.
final class RequestIDs: Sendable {
    private let counter = Atomic<UInt64>(0)
    private let prefix: String

    init() {
        var g = SystemRandomNumberGenerator()
        prefix = "req-" + String(g.next() & 0xFFFF_FFFF, radix: 16) + "-"
    }

    func next() -> String {
        prefix + String(counter.wrappingAdd(1, ordering: .relaxed).newValue, radix: 16)
    }
}
