/// The evidence about one provider for one task: a Beta posterior on its quality with a
/// Beta(1, 1) prior, plus a fast average of its recent scores for change detection.
/// `successes` and `failures` are discounted sums, so they need not be whole numbers.
package struct QualityPosterior: Sendable, Equatable, Codable {
    /// Discounted evidence for good answers (a score s adds s).
    package var successes: Double
    /// Discounted evidence for bad answers (a score s adds 1 - s).
    package var failures: Double

    /// Exponentially weighted average of the recent scores (rate ``ThompsonSelector/recentRate``).
    package var recent: Double
    /// Evidence added since the last detected change (or the start).
    package var recentEvidence: Double

    /// Memberwise; no evidence by default.
    package init(successes: Double = 0, failures: Double = 0, recent: Double = 0, recentEvidence: Double = 0) {
        self.successes = successes
        self.failures = failures
        self.recent = recent
        self.recentEvidence = recentEvidence
    }

    /// Beta's first parameter (prior 1 plus the evidence).
    package var alpha: Double { 1 + successes }
    /// Beta's second parameter.
    package var beta: Double { 1 + failures }
    /// Posterior mean quality.
    package var mean: Double { alpha / (alpha + beta) }
    /// Evidence in all (discounted).
    package var evidence: Double { successes + failures }
}

/// Thompson sampling over providers, per task type: each (task, provider) pair has a
/// discounted Beta posterior on quality, fed by attempt outcomes (success 1, failure 0, with
/// `outcome_weight`) and by client feedback scores in 0...1. A pick draws one quality from
/// each candidate's posterior and subtracts a latency penalty (how far the provider's
/// latency EWMA is over the task's budget) and a cost term; candidates are tried in
/// descending order of that score. Deterministic under the router's generator.
///
/// Forgetting, measured in the simulation (`copilot route simulate`) against the textbook
/// variant that discounts every arm at every event (which kept the best provider's share
/// near 70%: idle arms regain uncertainty so fast that exploration never stops):
/// - a provider's evidence is multiplied by the forgetting factor γ at each of its own
///   events, so it holds about 1 / (1 - γ) events;
/// - every arm of the task fades 20 times slower per event of the task
///   (``idleForgettingDivisor``), so a provider left idle slowly becomes worth a retry;
/// - a change detector per arm: when the average of its recent scores (an EWMA at
///   ``recentRate``) leaves the posterior mean by more than ``changeThresholdSD`` of its
///   own noise, the arm keeps only about ``1/recentRate`` events of evidence at the
///   recent average, so a provider that gets worse loses traffic within tens of events
///   even with a long memory.
///
/// A pick costs two Gamma draws per candidate (about 0.1 µs each) plus an insertion sort.
package struct ThompsonSelector: ModelSelecting {
    /// The learning keys it was built with.
    package let learning: LearningSettings
    /// Task names by slot; the last slot collects requests without a task (named "").
    package let taskNames: [String]
    /// Provider names, indexed like the router's providers.
    package let providerNames: [String]
    /// Posteriors by `[task slot][provider]`.
    package private(set) var posteriors: [[QualityPosterior]]
    /// Events (outcomes and feedback) learned from, per task slot.
    package private(set) var events: [Int]
    /// Changes detected (arms whose old evidence was dropped), in all.
    package private(set) var changesDetected = 0
    private let slots: [String: Int]
    private let forgetting: [Double]
    private let budgetsMs: [Double]
    private let costs: [Double]

    /// How much slower than γ an idle arm's evidence fades, per event of its task.
    package static let idleForgettingDivisor = 20.0
    /// Rate of the recent-score EWMA of the change detector (about the last 20 events).
    package static let recentRate = 0.05
    /// How far, in standard deviations of the EWMA's noise, the recent average must leave the
    /// posterior mean to count as a change.
    package static let changeThresholdSD = 3.0

    /// A selector with no evidence for `settings`' providers and tasks.
    package init(settings: RouteSettings) {
        learning = settings.learning
        taskNames = settings.tasks.map(\.name) + [""]
        providerNames = settings.providers.map(\.name)
        posteriors = Array(repeating: Array(repeating: QualityPosterior(), count: settings.providers.count), count: taskNames.count)
        events = Array(repeating: 0, count: taskNames.count)
        slots = Dictionary(taskNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        forgetting = settings.tasks.map { $0.forgetting ?? settings.learning.forgetting } + [settings.learning.forgetting]
        budgetsMs = settings.tasks.map { Double($0.latencyBudgetMs) } + [Double(settings.requestTimeoutMs)]
        costs = settings.providers.map { $0.costInputPer1k + $0.costOutputPer1k }
    }

    /// The slot of a task name (`nil` or unknown: the no-task slot).
    package func slot(of task: String?) -> Int {
        task.flatMap { slots[$0] } ?? taskNames.count - 1
    }

    /// What the pick subtracts from a provider's sampled quality for a task: the latency
    /// penalty (latency EWMA over the budget, as a fraction of the budget) plus the cost term.
    package func penalty(provider: Int, health: RouteHealth, slot: Int) -> (latency: Double, cost: Double) {
        Self.penalty(latencyEwmaMs: health.latencyEwmaMs, budgetMs: budgetsMs[slot], cost: costs[provider], learning: learning)
    }

    /// The penalty terms for a provider with latency EWMA `latencyEwmaMs` (nil: no history,
    /// no penalty), a task budget and a summed cost per 1k tokens.
    package static func penalty(latencyEwmaMs: Double?, budgetMs: Double, cost: Double, learning: LearningSettings) -> (latency: Double, cost: Double) {
        var latency = 0.0
        if let ms = latencyEwmaMs, ms > budgetMs { latency = learning.latencyPenalty * (ms / budgetMs - 1) }
        return (latency, learning.costWeight * cost)
    }

    /// Draws a quality per candidate, subtracts the penalties and sorts best first (ties by
    /// provider index). O(n²) in the candidates for the sort, n is small.
    package mutating func rank(
        _ candidates: inout [RouteCandidate], for request: RouteRequest, view: RouteView, using generator: inout SplitMix64
    ) {
        let s = slot(of: request.task?.name)
        for i in candidates.indices {
            let p = candidates[i].provider
            let posterior = posteriors[s][p]
            let (latency, cost) = penalty(provider: p, health: view.health[p], slot: s)
            candidates[i].score = generator.nextBeta(posterior.alpha, posterior.beta) - latency - cost
        }
        sortByScore(&candidates)
    }

    /// An attempt's success or failure, weighted by `outcome_weight`.
    package mutating func observe(_ outcome: RouteOutcome) {
        guard learning.outcomeWeight > 0 else { return }
        update(slot: slot(of: outcome.task), provider: outcome.provider, score: outcome.success ? 1 : 0, weight: learning.outcomeWeight)
    }

    /// A client's score (clamped to 0...1) with weight 1.
    package mutating func learn(_ feedback: RouteFeedback) {
        update(slot: slot(of: feedback.task), provider: feedback.provider, score: min(max(feedback.score, 0), 1), weight: 1)
    }

    /// Fades the task's idle evidence, discounts the arm's own, runs its change detector and
    /// adds `weight` of evidence for `score`. O(providers).
    mutating func update(slot s: Int, provider: Int, score: Double, weight: Double) {
        guard provider >= 0, provider < providerNames.count else { return }
        let gamma = forgetting[s]
        if gamma < 1 {
            let idle = 1 - (1 - gamma) / Self.idleForgettingDivisor
            for p in posteriors[s].indices {
                posteriors[s][p].successes *= idle
                posteriors[s][p].failures *= idle
            }
        }
        var arm = posteriors[s][provider]
        arm.successes *= gamma
        arm.failures *= gamma
        let mean = arm.mean
        let rate = Self.recentRate
        arm.recent = arm.recentEvidence == 0 ? score : arm.recent + min(rate * weight, 1) * (score - arm.recent)
        arm.recentEvidence += weight
        // The EWMA's standard deviation for scores of variance at most mean (1 - mean).
        let noiseSD = (rate / (2 - rate) * mean * (1 - mean)).squareRoot()
        if arm.recentEvidence >= 1 / rate, abs(arm.recent - mean) > Self.changeThresholdSD * noiseSD {
            arm.successes = arm.recent / rate
            arm.failures = (1 - arm.recent) / rate
            arm.recentEvidence = 0
            changesDetected += 1
        }
        arm.successes += weight * score
        arm.failures += weight * (1 - score)
        posteriors[s][provider] = arm
        events[s] += 1
    }

    /// It learns from feedback.
    package static var learns: Bool { true }

    /// Every posterior with evidence, by task and provider name (what the state store keeps).
    package var learnedArms: [LearnedArm] {
        var arms: [LearnedArm] = []
        for (s, task) in taskNames.enumerated() {
            for (p, provider) in providerNames.enumerated() where posteriors[s][p].evidence > 0 {
                arms.append(LearnedArm(task: task, provider: provider, posterior: posteriors[s][p]))
            }
        }
        return arms
    }

    /// Restores posteriors saved by name; arms of tasks or providers no longer configured are
    /// skipped (and returned), so a changed configuration keeps what still applies.
    @discardableResult
    package mutating func restore(_ arms: [LearnedArm]) -> [LearnedArm] {
        var skipped: [LearnedArm] = []
        for arm in arms {
            guard let s = slots[arm.task], let p = providerNames.firstIndex(of: arm.provider) else {
                skipped.append(arm)
                continue
            }
            posteriors[s][p] = arm.posterior
        }
        return skipped
    }

    /// Forgets everything learned.
    package mutating func reset() {
        for s in posteriors.indices {
            for p in posteriors[s].indices { posteriors[s][p] = QualityPosterior() }
        }
        events = events.map { _ in 0 }
    }
}

/// One posterior by name, as persisted and as `route stats` shows it.
package struct LearnedArm: Sendable, Equatable, Codable {
    /// Task name ("" for requests without a task).
    package var task: String
    /// Provider name.
    package var provider: String
    /// The posterior.
    package var posterior: QualityPosterior

    /// Memberwise.
    package init(task: String, provider: String, posterior: QualityPosterior) {
        self.task = task
        self.provider = provider
        self.posterior = posterior
    }

    /// What names an arm wherever it is kept or exchanged: its task and provider.
    package struct Name: Hashable, Sendable {
        /// The task name.
        package var task: String
        /// The provider name.
        package var provider: String

        /// Memberwise.
        package init(task: String, provider: String) {
            self.task = task
            self.provider = provider
        }
    }

    /// This arm's task and provider.
    package var name: Name { Name(task: task, provider: provider) }
}

/// Sorts candidates by descending score, ties by provider index (insertion sort: n is small
/// and the array is usually short).
func sortByScore(_ candidates: inout [RouteCandidate]) {
    guard candidates.count > 1 else { return }
    for i in 1..<candidates.count {
        let item = candidates[i]
        var j = i
        while j > 0 && (item.score > candidates[j - 1].score || (item.score == candidates[j - 1].score && item.provider < candidates[j - 1].provider)) {
            candidates[j] = candidates[j - 1]
            j -= 1
        }
        candidates[j] = item
    }
}
