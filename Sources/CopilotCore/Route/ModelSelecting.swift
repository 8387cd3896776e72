/// One request as the router sees it.
package struct RouteRequest: Sendable, Equatable {
    /// Model name or alias the client asked for.
    package var model: String
    /// Task type, when the client named one that is configured.
    package var task: TaskSettings?

    /// Memberwise.
    package init(model: String, task: TaskSettings? = nil) {
        self.model = model
        self.task = task
    }
}

/// A provider that passed filtering, with the selector's score (higher is better).
package struct RouteCandidate: Sendable, Equatable {
    /// Index into the router's providers.
    package var provider: Int
    /// Selector's score; only the order matters to the router.
    package var score: Double

    /// Memberwise.
    package init(provider: Int, score: Double) {
        self.provider = provider
        self.score = score
    }
}

/// How one attempt ended, as the router tells a selector.
package struct RouteOutcome: Sendable, Equatable {
    /// Index into the router's providers.
    package var provider: Int
    /// Task type name, if any.
    package var task: String?
    /// Whether the attempt answered.
    package var success: Bool
    /// Whole-attempt latency, in milliseconds.
    package var latencyMs: Double
    /// Time to first byte, in milliseconds (equal to `latencyMs` for a non-streamed answer).
    package var ttftMs: Double

    /// Memberwise.
    package init(provider: Int, task: String?, success: Bool, latencyMs: Double, ttftMs: Double) {
        self.provider = provider
        self.task = task
        self.success = success
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
    }
}

/// What a selector may read when it ranks: the providers' settings and running health.
package struct RouteView: Sendable {
    /// Providers, indexed as in ``RouteCandidate/provider``.
    package let providers: [ProviderSettings]
    /// Their health, same indices.
    package let health: [RouteHealth]
}

/// The ranking policy of the router: it orders the candidates that passed filtering (model,
/// tier, capability, concurrency, breaker), best first, and may learn from outcomes. The
/// router tries them in that order. Implementations must be deterministic given the
/// generator, so a `--seed` reproduces every choice.
package protocol ModelSelecting: Sendable {
    /// Scores `candidates` in place and puts them in the order to try (best first).
    mutating func rank(
        _ candidates: inout [RouteCandidate], for request: RouteRequest, view: RouteView, using generator: inout SplitMix64)

    /// Learns from one finished attempt (the default ignores it).
    mutating func observe(_ outcome: RouteOutcome)

    /// Learns from a quality score a client gave one answer (the default ignores it).
    mutating func learn(_ feedback: RouteFeedback)

    /// Whether it learns from feedback (the gateway then takes `POST /v1/feedback`).
    static var learns: Bool { get }

    /// What it has learned, by name (saved by the gateway; empty for stateless policies).
    var learnedArms: [LearnedArm] { get }

    /// Takes back what ``learnedArms`` gave; returns the arms it had no place for.
    @discardableResult
    mutating func restore(_ arms: [LearnedArm]) -> [LearnedArm]
}

extension ModelSelecting {
    /// Stateless selectors learn nothing.
    package mutating func observe(_ outcome: RouteOutcome) {}

    /// Stateless selectors learn nothing.
    package mutating func learn(_ feedback: RouteFeedback) {}

    /// Stateless selectors take no feedback.
    package static var learns: Bool { false }

    /// Stateless selectors have nothing to save.
    package var learnedArms: [LearnedArm] { [] }

    /// Stateless selectors keep nothing.
    @discardableResult
    package mutating func restore(_ arms: [LearnedArm]) -> [LearnedArm] { arms }
}

/// A client's verdict on one answer (`POST /v1/feedback`), as the router tells a selector.
package struct RouteFeedback: Sendable, Equatable {
    /// Index into the router's providers: the one that answered.
    package var provider: Int
    /// Task type name, if the request named one.
    package var task: String?
    /// Quality in 0...1 (1 = the best answer).
    package var score: Double

    /// Memberwise.
    package init(provider: Int, task: String?, score: Double) {
        self.provider = provider
        self.task = task
        self.score = score
    }
}

/// The default policy: score = weight x success-rate EWMA² x a latency factor (1 / (1 + EWMA
/// latency / 1 s), divided by 10 when the EWMA is over the task's budget); the first choice is
/// drawn in proportion to score (so equal providers share traffic by weight), the rest follow
/// by descending score, ties in file order.
package struct HealthWeightedSelector: ModelSelecting {
    /// Creates the policy.
    package init() {}

    /// The score of one provider for a request.
    package static func score(_ provider: ProviderSettings, health: RouteHealth, budgetMs: Double?) -> Double {
        let s = health.successRate
        var latencyFactor = 1.0
        if let latency = health.latencyEwmaMs {
            latencyFactor = 1 / (1 + latency / 1000)
            if let budgetMs, latency > budgetMs { latencyFactor /= 10 }
        }
        return provider.weight * s * s * latencyFactor
    }

    /// Scores every candidate, draws the first by score and orders the rest (O(n²) in the
    /// candidates, n is small).
    package mutating func rank(
        _ candidates: inout [RouteCandidate], for request: RouteRequest, view: RouteView, using generator: inout SplitMix64
    ) {
        let budget = request.task.map { Double($0.latencyBudgetMs) }
        var total = 0.0
        for i in candidates.indices {
            let p = candidates[i].provider
            let score = Self.score(view.providers[p], health: view.health[p], budgetMs: budget)
            candidates[i].score = score
            total += score
        }
        guard candidates.count > 1 else { return }
        // Weighted draw of the first choice.
        var target = generator.nextUnit() * total
        var first = candidates.count - 1
        for i in candidates.indices {
            target -= candidates[i].score
            if target < 0 {
                first = i
                break
            }
        }
        candidates.swapAt(0, first)
        // Insertion sort of the rest by descending score, stable by provider index.
        if candidates.count > 2 {
            for i in 2..<candidates.count {
                let item = candidates[i]
                var j = i
                while j > 1 && Self.precedes(item, candidates[j - 1]) {
                    candidates[j] = candidates[j - 1]
                    j -= 1
                }
                candidates[j] = item
            }
        }
    }

    private static func precedes(_ a: RouteCandidate, _ b: RouteCandidate) -> Bool {
        a.score > b.score || (a.score == b.score && a.provider < b.provider)
    }
}
