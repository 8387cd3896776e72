/// One request as the router sees it.
public struct RouteRequest: Sendable, Equatable {
    /// Model name or alias the client asked for.
    public var model: String
    /// Task type, when the client named one that is configured.
    public var task: TaskSettings?

    /// Memberwise.
    public init(model: String, task: TaskSettings? = nil) {
        self.model = model
        self.task = task
    }
}

/// A provider that passed filtering, with the selector's score (higher is better).
public struct RouteCandidate: Sendable, Equatable {
    /// Index into the router's providers.
    public var provider: Int
    /// Selector's score; only the order matters to the router.
    public var score: Double

    /// Memberwise.
    public init(provider: Int, score: Double) {
        self.provider = provider
        self.score = score
    }
}

/// How one attempt ended, as the router tells a selector.
public struct RouteOutcome: Sendable, Equatable {
    /// Index into the router's providers.
    public var provider: Int
    /// Task type name, if any.
    public var task: String?
    /// Whether the attempt answered.
    public var success: Bool
    /// Whole-attempt latency, in milliseconds.
    public var latencyMs: Double
    /// Time to first byte, in milliseconds (equal to `latencyMs` for a non-streamed answer).
    public var ttftMs: Double

    /// Memberwise.
    public init(provider: Int, task: String?, success: Bool, latencyMs: Double, ttftMs: Double) {
        self.provider = provider
        self.task = task
        self.success = success
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
    }
}

/// What a selector may read when it ranks: the providers' settings and running health.
public struct RouteView: Sendable {
    /// Providers, indexed as in ``RouteCandidate/provider``.
    public let providers: [ProviderSettings]
    /// Their health, same indices.
    public let health: [RouteHealth]
}

/// The ranking policy of the router: it orders the candidates that passed filtering (model,
/// tier, capability, concurrency, breaker), best first, and may learn from outcomes. The
/// router tries them in that order. Implementations must be deterministic given the
/// generator, so a `--seed` reproduces every choice.
public protocol ModelSelecting: Sendable {
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
    public mutating func observe(_ outcome: RouteOutcome) {}

    /// Stateless selectors learn nothing.
    public mutating func learn(_ feedback: RouteFeedback) {}

    /// Stateless selectors take no feedback.
    public static var learns: Bool { false }

    /// Stateless selectors have nothing to save.
    public var learnedArms: [LearnedArm] { [] }

    /// Stateless selectors keep nothing.
    @discardableResult
    public mutating func restore(_ arms: [LearnedArm]) -> [LearnedArm] { arms }
}

/// A client's verdict on one answer (`POST /v1/feedback`), as the router tells a selector.
public struct RouteFeedback: Sendable, Equatable {
    /// Index into the router's providers: the one that answered.
    public var provider: Int
    /// Task type name, if the request named one.
    public var task: String?
    /// Quality in 0...1 (1 = the best answer).
    public var score: Double

    /// Memberwise.
    public init(provider: Int, task: String?, score: Double) {
        self.provider = provider
        self.task = task
        self.score = score
    }
}

/// The default policy: score = weight x success-rate EWMA² x a latency factor (1 / (1 + EWMA
/// latency / 1 s), divided by 10 when the EWMA is over the task's budget); the first choice is
/// drawn in proportion to score (so equal providers share traffic by weight), the rest follow
/// by descending score, ties in file order.
public struct HealthWeightedSelector: ModelSelecting {
    /// Creates the policy.
    public init() {}

    /// The score of one provider for a request.
    public static func score(_ provider: ProviderSettings, health: RouteHealth, budgetMs: Double?) -> Double {
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
    public mutating func rank(
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
