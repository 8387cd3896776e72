import CopilotCore

/// The prototype's policy as a selector: the first choice drawn in proportion to each
/// candidate's configured weight, the rest in file order; it learns nothing. The "static
/// weights" column of the route-learning simulation.
package struct StaticWeightSelector: ModelSelecting {
    /// Creates the policy.
    package init() {}

    /// Scores are the weights; one weighted draw picks the first.
    package mutating func rank(
        _ candidates: inout [RouteCandidate], for request: RouteRequest, view: RouteView, using generator: inout SplitMix64
    ) {
        var total = 0.0
        for i in candidates.indices {
            candidates[i].score = view.providers[candidates[i].provider].weight
            total += candidates[i].score
        }
        guard candidates.count > 1 else { return }
        var target = generator.nextUnit() * total
        for i in candidates.indices {
            target -= candidates[i].score
            if target < 0 {
                candidates.insert(candidates.remove(at: i), at: 0)
                return
            }
        }
    }
}

/// Epsilon-greedy with plain (never forgetting) sample means: with probability `epsilon`
/// a uniformly random candidate goes first, otherwise the one with the best mean quality
/// less the same latency and cost penalties as ``ThompsonSelector``; untried providers count
/// as perfect, so each is tried once. The textbook bandit the simulation compares with.
package struct EpsilonGreedySelector: ModelSelecting {
    /// Exploration probability.
    package let epsilon: Double
    private let learning: LearningSettings
    private let slots: [String: Int]
    private let budgetsMs: [Double]
    private let costs: [Double]
    private var sums: [[Double]]
    private var counts: [[Double]]

    /// A selector for `settings`' providers and tasks with no evidence.
    package init(settings: RouteSettings, epsilon: Double = 0.1) {
        self.epsilon = epsilon
        learning = settings.learning
        let names = settings.tasks.map(\.name) + [""]
        slots = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        budgetsMs = settings.tasks.map { Double($0.latencyBudgetMs) } + [Double(settings.requestTimeoutMs)]
        costs = settings.providers.map { $0.costInputPer1k + $0.costOutputPer1k }
        sums = Array(repeating: Array(repeating: 0, count: settings.providers.count), count: names.count)
        counts = sums
    }

    private func slot(_ task: String?) -> Int { task.flatMap { slots[$0] } ?? budgetsMs.count - 1 }

    /// Greedy by mean less penalties, or a random first with probability `epsilon`.
    package mutating func rank(
        _ candidates: inout [RouteCandidate], for request: RouteRequest, view: RouteView, using generator: inout SplitMix64
    ) {
        let s = slot(request.task?.name)
        for i in candidates.indices {
            let p = candidates[i].provider
            let mean = counts[s][p] > 0 ? sums[s][p] / counts[s][p] : 1
            let penalty = ThompsonSelector.penalty(
                latencyEwmaMs: view.health[p].latencyEwmaMs, budgetMs: budgetsMs[s], cost: costs[p], learning: learning)
            candidates[i].score = mean - penalty.latency - penalty.cost
        }
        candidates.sort { $0.score > $1.score || ($0.score == $1.score && $0.provider < $1.provider) }
        if candidates.count > 1, generator.nextUnit() < epsilon {
            let i = Int(generator.next() % UInt64(candidates.count))
            candidates.insert(candidates.remove(at: i), at: 0)
        }
    }

    /// Success 1, failure 0, weighted by `outcome_weight`.
    package mutating func observe(_ outcome: RouteOutcome) {
        guard learning.outcomeWeight > 0 else { return }
        add(slot(outcome.task), outcome.provider, outcome.success ? 1 : 0, weight: learning.outcomeWeight)
    }

    /// A feedback score with weight 1.
    package mutating func learn(_ feedback: RouteFeedback) {
        add(slot(feedback.task), feedback.provider, min(max(feedback.score, 0), 1), weight: 1)
    }

    private mutating func add(_ s: Int, _ p: Int, _ score: Double, weight: Double) {
        sums[s][p] += weight * score
        counts[s][p] += weight
    }
}
