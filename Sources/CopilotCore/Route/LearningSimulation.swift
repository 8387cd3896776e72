import Foundation

/// A simulated world for the learning policies: task types and models with known quality,
/// latency and cost, and one provider whose quality drops halfway. Pure and seeded: the
/// same seed gives the same table.
package struct LearningEnvironment: Sendable {
    /// One simulated model (one provider serving it).
    package struct Model: Sendable {
        /// Provider name.
        package var name: String
        /// Latency of every answer, in milliseconds.
        package var latencyMs: Double
        /// `cost_input_per_1k + cost_output_per_1k`.
        package var cost: Double
        /// The prototype's static weight for it.
        package var weight: Double
    }

    /// Models, one provider each.
    package var models: [Model]
    /// Task types with their latency budgets.
    package var tasks: [TaskSettings]
    /// Expected feedback score by `[task][model]` before the drop.
    package var quality: [[Double]]
    /// The model whose quality drops at the halfway point.
    package var droppingModel: Int
    /// How much its quality drops, in every task.
    package var drop: Double

    /// 5 task types x 4 models. The `medium` provider is the best choice for three tasks and
    /// loses 0.3 of quality halfway; `large` is best for the other two. With the default
    /// latency penalty and cost weight the best utility leads the runner-up by 0.17 to 0.21
    /// before the drop.
    package static let standard = LearningEnvironment(
        models: closeCall.models, tasks: closeCall.tasks,
        quality: [
            [0.78, 0.82, 0.62, 0.38],
            [0.92, 0.64, 0.32, 0.48],
            [0.62, 0.86, 0.46, 0.66],
            [0.90, 0.82, 0.62, 0.42],
            [0.92, 0.68, 0.36, 0.48],
        ],
        droppingModel: 1, drop: 0.3)

    /// The same world with every quality half as far from the task's best model: the best
    /// utility leads the runner-up by only 0.085 to 0.105, so any policy that keeps learning
    /// must still try the runner-ups often after 300 events of thumbs up/down.
    package static let closeCall = LearningEnvironment(
        models: [
            Model(name: "large", latencyMs: 2500, cost: 1.0, weight: 3),
            Model(name: "medium", latencyMs: 900, cost: 0.3, weight: 2),
            Model(name: "small", latencyMs: 300, cost: 0.05, weight: 1),
            Model(name: "local", latencyMs: 600, cost: 0, weight: 1),
        ],
        tasks: [
            TaskSettings(name: "chat", latencyBudgetMs: 2000),
            TaskSettings(name: "code", latencyBudgetMs: 4000),
            TaskSettings(name: "summarize", latencyBudgetMs: 3000),
            TaskSettings(name: "extract", latencyBudgetMs: 1000),
            TaskSettings(name: "explain", latencyBudgetMs: 5000),
        ],
        quality: [
            [0.80, 0.82, 0.72, 0.60],
            [0.92, 0.78, 0.62, 0.70],
            [0.74, 0.86, 0.66, 0.76],
            [0.90, 0.86, 0.76, 0.66],
            [0.92, 0.80, 0.64, 0.70],
        ],
        droppingModel: 1, drop: 0.3)

    /// Route settings with one provider per model (all serving model `m`), the tasks, and
    /// `learning`.
    package func settings(learning: LearningSettings = .defaults, seed: UInt64) -> RouteSettings {
        var s = RouteSettings.defaults
        s.providers = models.map { m in
            var p = ProviderSettings(name: m.name, kind: .mock, baseURL: "", models: ["m"])
            p.costInputPer1k = m.cost
            p.weight = m.weight
            return p
        }
        s.tasks = tasks
        s.learning = learning
        s.seed = seed
        return s
    }

    /// Expected quality of `model` for `task`, after the drop or not.
    package func quality(task: Int, model: Int, dropped: Bool) -> Double {
        quality[task][model] - (dropped && model == droppingModel ? drop : 0)
    }

    /// Expected quality less the latency and cost penalties ``ThompsonSelector`` applies: what
    /// the policies should maximise.
    package func utility(task: Int, model: Int, dropped: Bool, learning: LearningSettings) -> Double {
        let m = models[model]
        let p = ThompsonSelector.penalty(latencyEwmaMs: m.latencyMs, budgetMs: Double(tasks[task].latencyBudgetMs), cost: m.cost, learning: learning)
        return quality(task: task, model: model, dropped: dropped) - p.latency - p.cost
    }

    /// The model of highest utility for `task`.
    package func best(task: Int, dropped: Bool, learning: LearningSettings) -> Int {
        models.indices.max { utility(task: task, model: $0, dropped: dropped, learning: learning) < utility(task: task, model: $1, dropped: dropped, learning: learning) }!
    }
}

/// The simulated worlds `copilot route simulate` offers.
package enum SimulatedWorld: String, CaseIterable, Sendable {
    /// ``LearningEnvironment/standard``.
    case standard
    /// ``LearningEnvironment/closeCall``.
    case closeCall = "close-call"

    /// The environment.
    package var environment: LearningEnvironment {
        switch self {
        case .standard: .standard
        case .closeCall: .closeCall
        }
    }
}

/// What one policy did in one simulated run.
package struct SimulationRun: Sendable, Equatable {
    /// Picks by `[task][event]` (model index).
    package var picks: [[Int]]
    /// Expected utility lost against the best model, summed over every task's events before
    /// the drop.
    package var regretBefore: Double
    /// The same after the drop.
    package var regretAfter: Double
    /// Share of picks of the best model in events `[warmup, drop)`, averaged over tasks.
    package var bestShare: Double
    /// Share of picks of the best model in the last third of the events after the drop.
    package var bestShareAfterDrop: Double
    /// For each task whose best model was the one that dropped and that gave it the majority
    /// of its last 20 picks before the drop: events after the drop until it has less than
    /// half of the last 20 picks (nil: never).
    package var moveEvents: [Int?]
}

/// Runs policies through a ``LearningEnvironment``: each event, every task in turn asks the
/// router (with the policy as its selector), the pick is scored by a Bernoulli draw of its
/// quality (a thumbs up or down) and the score goes back as feedback.
package struct LearningSimulation: Sendable {
    /// The world.
    package var environment: LearningEnvironment
    /// Feedback events per task; the drop happens after half of them.
    package var eventsPerTask: Int
    /// Events per task after which the best share is counted.
    package var warmup: Int
    /// Learning keys (forgetting, penalties) for the policies and the utility.
    package var learning: LearningSettings
    /// How clients score an answer.
    package var feedback: FeedbackModel

    /// How the simulated clients score an answer of expected quality q.
    package enum FeedbackModel: String, CaseIterable, Sendable {
        /// Thumbs up (1) with probability q, else down (0): the noisiest signal.
        case thumbs
        /// q plus Gaussian noise of standard deviation ``LearningSimulation/gradedSD``,
        /// clamped to 0...1 (a graded rating).
        case graded
    }

    /// Noise of a graded rating.
    package static let gradedSD = 0.15

    /// 1200 events per task, the drop at 600, the best share counted from event 300.
    package init(
        environment: LearningEnvironment = .standard, eventsPerTask: Int = 1200, warmup: Int = 300, learning: LearningSettings = .defaults,
        feedback: FeedbackModel = .thumbs
    ) {
        self.environment = environment
        self.feedback = feedback
        self.eventsPerTask = eventsPerTask
        self.warmup = warmup
        self.learning = learning
    }

    /// The route settings the policies are built over.
    package func settings(seed: UInt64) -> RouteSettings { environment.settings(learning: learning, seed: seed) }

    /// One run of `selector` with `seed` (picks and feedback draws).
    package func run<S: ModelSelecting>(_ selector: S, seed: UInt64) -> SimulationRun {
        let env = environment
        var router = ProviderRouter(settings: settings(seed: seed), selector: selector)
        // The latency each provider answers with, as the health EWMA sees it (no task: this
        // history lands in the no-task slot, which the simulation does not use).
        for (i, m) in env.models.enumerated() {
            _ = router.acquire(i, now: 1)
            router.release(i, outcome: RouteOutcome(provider: i, task: nil, success: true, latencyMs: m.latencyMs, ttftMs: m.latencyMs), now: 1)
        }
        var rewards = SplitMix64(seed: seed ^ 0x5EED_F00D)
        let half = eventsPerTask / 2
        var picks = Array(repeating: [Int](), count: env.tasks.count)
        var regret = (before: 0.0, after: 0.0)
        let bestBefore = env.tasks.indices.map { env.best(task: $0, dropped: false, learning: learning) }
        let bestAfter = env.tasks.indices.map { env.best(task: $0, dropped: true, learning: learning) }
        for e in 0..<eventsPerTask {
            let dropped = e >= half
            for t in env.tasks.indices {
                let name = env.tasks[t].name
                guard let p = router.decide(model: "m", task: name, now: 2).pick else { continue }
                picks[t].append(p)
                let best = dropped ? bestAfter[t] : bestBefore[t]
                let loss = env.utility(task: t, model: best, dropped: dropped, learning: learning) - env.utility(task: t, model: p, dropped: dropped, learning: learning)
                if dropped { regret.after += loss } else { regret.before += loss }
                let q = env.quality(task: t, model: p, dropped: dropped)
                let score: Double
                switch feedback {
                case .thumbs: score = rewards.nextUnit() < q ? 1 : 0
                case .graded: score = min(max(q + Self.gradedSD * rewards.nextGaussian(), 0), 1)
                }
                router.learn(RouteFeedback(provider: p, task: name, score: score))
            }
        }
        func share(_ range: Range<Int>, _ best: [Int]) -> Double {
            let tasks = env.tasks.indices
            return tasks.map { t in Double(picks[t][range].filter { $0 == best[t] }.count) / Double(max(range.count, 1)) }.reduce(0, +) / Double(tasks.count)
        }
        let window = 20
        let dropping = env.droppingModel
        // Only tasks where the dropped provider had the majority of the last picks before it.
        let moves: [Int?] = env.tasks.indices.filter { t in
            bestBefore[t] == dropping && picks[t][(half - window)..<half].filter { $0 == dropping }.count * 2 > window
        }.map { t in
            var inWindow = 0
            for e in half..<eventsPerTask {
                if picks[t][e] == dropping { inWindow += 1 }
                if e - window >= half, picks[t][e - window] == dropping { inWindow -= 1 }
                if e - half + 1 >= window, inWindow * 2 < window { return e + 1 - half }
            }
            return nil
        }
        return SimulationRun(
            picks: picks, regretBefore: regret.before, regretAfter: regret.after,
            bestShare: share(min(warmup, half)..<half, bestBefore),
            bestShareAfterDrop: share((eventsPerTask - (eventsPerTask - half) / 3)..<eventsPerTask, bestAfter),
            moveEvents: moves)
    }
}

/// One policy's results over several seeds, as `copilot route simulate` prints them.
package struct PolicySummary: Sendable, Equatable, Codable {
    /// Policy name.
    package var policy: String
    /// Runs summarised.
    package var seeds: Int
    /// Mean share of best picks from the warm-up to the drop.
    package var bestShare: Double
    /// Lowest of those shares over the seeds.
    package var bestShareMin: Double
    /// Mean share of best picks in the last third after the drop.
    package var bestShareAfterDrop: Double
    /// Task runs in which the dropped provider had the majority before the drop.
    package var moveRuns: Int
    /// Median events until the dropped provider lost its majority (nil: in under half of the
    /// runs it never did).
    package var moveMedian: Int?
    /// 90th percentile of the same (nil: never, in over 10% of the runs).
    package var moveP90: Int?
    /// Mean regret per task before the drop (utility lost against the best, summed).
    package var regretBefore: Double
    /// Mean regret per task after the drop.
    package var regretAfter: Double

    enum CodingKeys: String, CodingKey {
        case policy, seeds
        case moveRuns = "move_runs"
        case bestShare = "best_share"
        case bestShareMin = "best_share_min"
        case bestShareAfterDrop = "best_share_after_drop"
        case moveMedian = "move_median"
        case moveP90 = "move_p90"
        case regretBefore = "regret_before"
        case regretAfter = "regret_after"
    }

    /// Summarises `runs` of one policy in a world of `tasks` task types.
    package init(policy: String, runs: [SimulationRun], tasks: Int) {
        self.policy = policy
        seeds = runs.count
        let n = Double(max(runs.count, 1))
        bestShare = runs.map(\.bestShare).reduce(0, +) / n
        bestShareMin = runs.map(\.bestShare).min() ?? 0
        bestShareAfterDrop = runs.map(\.bestShareAfterDrop).reduce(0, +) / n
        let moves = runs.flatMap(\.moveEvents).map { $0 ?? Int.max }.sorted()
        func quantile(_ q: Double) -> Int? {
            guard !moves.isEmpty else { return nil }
            let v = moves[min(Int(q * Double(moves.count)), moves.count - 1)]
            return v == Int.max ? nil : v
        }
        moveRuns = moves.count
        moveMedian = quantile(0.5)
        moveP90 = quantile(0.9)
        regretBefore = runs.map(\.regretBefore).reduce(0, +) / n / Double(max(tasks, 1))
        regretAfter = runs.map(\.regretAfter).reduce(0, +) / n / Double(max(tasks, 1))
    }

    /// A Markdown table of `summaries` of runs of `simulation`.
    package static func markdown(_ summaries: [PolicySummary], simulation: LearningSimulation) -> String {
        let half = simulation.eventsPerTask / 2
        var text = "| policy | best share, events \(min(simulation.warmup, half))-\(half) (min) | best share, last \((simulation.eventsPerTask - half) / 3) "
        text += "| events until the dropped provider lost its majority, median / p90 | regret per task before / after the drop |\n"
        text += "|---|---|---|---|---|\n"
        func events(_ v: Int?) -> String { v.map(String.init) ?? "never" }
        for s in summaries {
            text += "| \(s.policy) | \(percent(s.bestShare)) (\(percent(s.bestShareMin))) | \(percent(s.bestShareAfterDrop)) | "
            text += s.moveRuns == 0 ? "(it never had the majority) | " : "\(events(s.moveMedian)) / \(events(s.moveP90)) | "
            text += "\(fixed(s.regretBefore)) / \(fixed(s.regretAfter)) |\n"
        }
        return text
    }
}

func percent(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }
func fixed(_ v: Double) -> String { String(format: "%.1f", v) }
