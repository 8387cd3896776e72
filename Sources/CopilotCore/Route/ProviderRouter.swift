/// Why a provider is not a candidate for a request (shown by `copilot route pick`).
package enum RouteExclusion: String, Sendable, Codable, Equatable {
    /// It does not serve the model or alias.
    case model
    /// The task does not allow its tier.
    case tier
    /// It lacks a capability the task needs.
    case capability
    /// `max_concurrency` requests are in flight.
    case concurrency
    /// Its breaker is open (or half-open with the probe in flight).
    case breaker
}

/// The router's answer for one request: the candidates in the order to try them, every
/// provider that was left out and why, and when to hedge.
package struct RouteDecision: Sendable, Equatable {
    /// Candidates, best first (the first is the pick).
    package var ranked: [RouteCandidate]
    /// Providers left out, with the first reason found.
    package var excluded: [(provider: Int, reason: RouteExclusion)]
    /// Start a second attempt after this many nanoseconds without a first byte; `nil`: no hedge.
    package var hedgeAfterNs: UInt64?
    /// Absolute deadline of the request, monotonic nanoseconds.
    package var deadlineNs: UInt64

    /// The chosen provider, if any.
    package var pick: Int? { ranked.first?.provider }

    /// Same ranking, exclusions, hedge delay and deadline.
    package static func == (a: RouteDecision, b: RouteDecision) -> Bool {
        a.ranked == b.ranked && a.hedgeAfterNs == b.hedgeAfterNs && a.deadlineNs == b.deadlineNs
            && a.excluded.map(\.provider) == b.excluded.map(\.provider) && a.excluded.map(\.reason) == b.excluded.map(\.reason)
    }
}

/// The core router: filtering, ranking (through a ``ModelSelecting`` policy), per-provider
/// health, circuit breakers and in-flight counts. A value type with no I/O and no clock of
/// its own (every time is passed in as monotonic nanoseconds), deterministic under its seed;
/// the gateway keeps one behind a lock.
///
/// A decision among 10 providers is a dictionary lookup, a pass over the providers serving
/// the model and an insertion sort: about a microsecond.
package struct ProviderRouter<Selector: ModelSelecting>: Sendable {
    /// The configuration it routes by.
    package let settings: RouteSettings
    /// The ranking policy.
    package private(set) var selector: Selector
    /// Health per provider, indexed like `settings.providers`.
    package private(set) var health: [RouteHealth]
    /// Breaker per provider.
    package private(set) var breakers: [CircuitBreaker]
    /// Attempts in flight per provider.
    package private(set) var inFlight: [Int]
    /// Per provider, when it may be asked again after a 429 or 503 with `Retry-After`
    /// (monotonic nanoseconds; 0: now). Until then it is ranked after every ready provider.
    package private(set) var notBeforeNs: [UInt64]
    /// Generator for weighted draws and retry jitter.
    package var generator: SplitMix64
    private let providersByModel: [String: [Int]]
    private let allowed: [[Bool]]  // [task][provider]: tier and capabilities fit
    private let taskIndex: [String: Int]

    /// A router over `settings` with no history.
    package init(settings: RouteSettings, selector: Selector) {
        self.settings = settings
        self.selector = selector
        let n = settings.providers.count
        health = Array(repeating: RouteHealth(), count: n)
        breakers = Array(repeating: CircuitBreaker(settings: settings.breaker), count: n)
        inFlight = Array(repeating: 0, count: n)
        notBeforeNs = Array(repeating: 0, count: n)
        generator = SplitMix64(seed: settings.seed)
        var byModel: [String: [Int]] = [:]
        for (i, p) in settings.providers.enumerated() {
            for name in Set(p.models + p.aliases) { byModel[name, default: []].append(i) }
        }
        providersByModel = byModel
        allowed = settings.tasks.map { task in
            settings.providers.map { Self.exclusion(of: $0, by: task) == nil }
        }
        taskIndex = Dictionary(settings.tasks.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Whether any provider serves `model` (a model name or an alias).
    package func serves(_ model: String) -> Bool { providersByModel[model] != nil }

    /// The model name to send upstream when a client asks provider `provider` for `requested`:
    /// the name itself when it is one of the provider's models, else (an alias) its first model.
    @_specialize(exported: true, where Selector == ThompsonSelector)
    @_specialize(exported: true, where Selector == HealthWeightedSelector)
    package func upstreamModel(provider: Int, requested: String) -> String {
        let p = settings.providers[provider]
        return p.models.contains(requested) ? requested : p.models[0]
    }

    /// Ranks the providers for a request at `now` (does not reserve anything; see ``acquire``).
    /// An unknown `task` name is the caller's error to report; here it means no task.
    @_specialize(exported: true, where Selector == ThompsonSelector)
    @_specialize(exported: true, where Selector == HealthWeightedSelector)
    package mutating func decide(model: String, task: String? = nil, now: UInt64) -> RouteDecision {
        let taskSlot = task.flatMap { taskIndex[$0] }
        let taskSettings = taskSlot.map { settings.tasks[$0] }
        let budgetMs = taskSettings.map(\.latencyBudgetMs) ?? settings.requestTimeoutMs
        let deadline = now &+ UInt64(budgetMs) * 1_000_000
        var ranked: [RouteCandidate] = []
        var excluded: [(provider: Int, reason: RouteExclusion)] = []
        let serving = providersByModel[model] ?? []
        ranked.reserveCapacity(serving.count)
        var next = 0
        for i in serving {
            while next < i {
                excluded.append((next, .model))
                next += 1
            }
            next = i + 1
            if let taskSlot, !allowed[taskSlot][i] {
                excluded.append((i, Self.exclusion(of: settings.providers[i], by: settings.tasks[taskSlot]) ?? .tier))
            } else if inFlight[i] >= settings.providers[i].maxConcurrency {
                excluded.append((i, .concurrency))
            } else if !breakers[i].wouldAdmit(now: now) {
                excluded.append((i, .breaker))
            } else {
                ranked.append(RouteCandidate(provider: i, score: 0))
            }
        }
        while next < settings.providers.count {
            excluded.append((next, .model))
            next += 1
        }
        let request = RouteRequest(model: model, task: taskSettings)
        selector.rank(&ranked, for: request, view: RouteView(providers: settings.providers, health: health), using: &generator)
        // A provider that asked for time (Retry-After) goes after every ready one, soonest first.
        if ranked.contains(where: { notBeforeNs[$0.provider] > now }) {
            let ready = ranked.filter { notBeforeNs[$0.provider] <= now }
            let waiting = ranked.filter { notBeforeNs[$0.provider] > now }.sorted { notBeforeNs[$0.provider] < notBeforeNs[$1.provider] }
            ranked = ready + waiting
        }
        var hedge: UInt64?
        if let policy = settings.hedge, let first = ranked.first {
            hedge = policy.hedgeDelayNs(primary: &health[first.provider], candidates: ranked.count)
        }
        return RouteDecision(ranked: ranked, excluded: excluded, hedgeAfterNs: hedge, deadlineNs: deadline)
    }

    /// A failover plan over a decision.
    @_specialize(exported: true, where Selector == ThompsonSelector)
    @_specialize(exported: true, where Selector == HealthWeightedSelector)
    package func plan(for decision: RouteDecision) -> FailoverPlan {
        FailoverPlan(
            candidates: decision.ranked.map(\.provider), deadlineNs: decision.deadlineNs, policy: settings.retry,
            notBeforeNs: decision.ranked.map { notBeforeNs[$0.provider] })
    }

    /// Whether provider `i` may be called now (concurrency and breaker), for ``FailoverPlan/next``.
    @_specialize(exported: true, where Selector == ThompsonSelector)
    @_specialize(exported: true, where Selector == HealthWeightedSelector)
    package func isUsable(_ i: Int, now: UInt64) -> Bool {
        inFlight[i] < settings.providers[i].maxConcurrency && breakers[i].wouldAdmit(now: now)
    }

    /// Reserves one attempt on provider `i`: asks its breaker and counts it in flight.
    /// `false` means do not call it (breaker open, probe taken, or full); then skip to the next.
    @_specialize(exported: true, where Selector == ThompsonSelector)
    @_specialize(exported: true, where Selector == HealthWeightedSelector)
    package mutating func acquire(_ i: Int, now: UInt64) -> Bool {
        guard inFlight[i] < settings.providers[i].maxConcurrency else { return false }
        guard breakers[i].admit(now: now) != .rejected else { return false }
        inFlight[i] += 1
        return true
    }

    /// Ends an attempt ``acquire(_:now:)`` reserved: updates health, breaker and the selector.
    /// `outcome == nil` means it was abandoned (client gone, or a hedge lost), which counts
    /// neither way.
    @_specialize(exported: true, where Selector == ThompsonSelector)
    @_specialize(exported: true, where Selector == HealthWeightedSelector)
    package mutating func release(_ i: Int, outcome: RouteOutcome?, now: UInt64) {
        inFlight[i] = max(0, inFlight[i] - 1)
        guard let outcome else {
            breakers[i].releaseProbe()
            return
        }
        if outcome.success {
            health[i].recordSuccess(latencyMs: outcome.latencyMs, ttftMs: outcome.ttftMs)
        } else {
            health[i].recordFailure()
        }
        breakers[i].record(success: outcome.success, now: now)
        selector.observe(outcome)
    }

    /// Passes a client's score of an answer to the selector.
    package mutating func learn(_ feedback: RouteFeedback) {
        selector.learn(feedback)
    }

    /// Changes the selector in place (restoring learned state, `--reset-state`).
    package mutating func updateSelector<T>(_ body: (inout Selector) throws -> T) rethrows -> T {
        try body(&selector)
    }

    /// Retry jitter and the next step of a plan, drawing from the router's generator.
    @_specialize(exported: true, where Selector == ThompsonSelector)
    @_specialize(exported: true, where Selector == HealthWeightedSelector)
    package mutating func next(_ plan: inout FailoverPlan, after failure: AttemptFailure, now: UInt64) -> FailoverPlan.Step {
        if let after = failure.retryAfterMs, let provider = plan.currentProvider {
            // Remembered for later requests too, as LiteLLM's cooldowns and nginx's
            // `max_fails`/`fail_timeout` do: the provider said when to come back. Capped at the
            // breaker's longest cooldown, so a day-long Retry-After cannot bench it for a day.
            let ms = UInt64(min(after, settings.breaker.maxCooldownMs))
            notBeforeNs[provider] = max(notBeforeNs[provider], now &+ ms * 1_000_000)
        }
        let snapshot = self
        return plan.next(after: failure, now: now, using: &generator) { snapshot.isUsable($0, now: now) }
    }

    /// Current breaker state of provider `i` (an expired cooldown reads `half-open`, as the
    /// next request will make it).
    package func breakerState(_ i: Int, now: UInt64) -> BreakerState {
        let b = breakers[i]
        return b.state == .open && now >= b.openUntilNs ? .halfOpen : b.state
    }

    static func exclusion(of provider: ProviderSettings, by task: TaskSettings) -> RouteExclusion? {
        if !task.tiers.isEmpty && !task.tiers.contains(provider.tier) { return .tier }
        if !task.capabilities.allSatisfy(provider.capabilities.contains) { return .capability }
        return nil
    }
}
