import Foundation

/// A noisy synthetic objective over temperature, top_p and max_tokens with a known optimum
/// inside the box, and runs of a tuning policy against it: how many evaluations until the
/// policy's incumbent is within 5% of the optimum value. Pure and seeded.
package struct TuningSimulation: Sendable {
    /// The box searched.
    package var space: ParameterSpace
    /// Where the objective peaks.
    package var optimum: GenerationParameters
    /// The objective's value at ``optimum``.
    package var peak: Double
    /// Its value far from the optimum.
    package var floor: Double
    /// Standard deviations of the bump: temperature, top_p, and natural log of max_tokens.
    package var widths: (temperature: Double, topP: Double, logMaxTokens: Double)
    /// Standard deviation of the Gaussian noise added to every score.
    package var noise: Double
    /// "Within 5%": the incumbent's noise-free value is at least this fraction of ``peak``.
    package var target: Double

    /// A bump of 0.9 at temperature 0.7, top_p 0.8 and 600 tokens (standard deviations 0.6,
    /// 0.3 and a factor e^1.6 in tokens: about 0.3 of each axis of the unit cube) over a
    /// floor of 0.1, noise 0.03, target 95% of the peak.
    package init(
        space: ParameterSpace = .defaults, optimum: GenerationParameters = GenerationParameters(temperature: 0.7, topP: 0.8, maxTokens: 600),
        peak: Double = 0.9, floor: Double = 0.1, widths: (temperature: Double, topP: Double, logMaxTokens: Double) = (0.6, 0.3, 1.6),
        noise: Double = 0.03, target: Double = 0.95
    ) {
        self.space = space
        self.optimum = optimum
        self.peak = peak
        self.floor = floor
        self.widths = widths
        self.noise = noise
        self.target = target
    }

    /// The objective without noise: floor + (peak − floor) exp(−r²/2), r the width-scaled
    /// distance from the optimum.
    package func value(_ p: GenerationParameters) -> Double {
        let t = (p.temperature - optimum.temperature) / widths.temperature
        let q = (p.topP - optimum.topP) / widths.topP
        let m = (log(Double(max(p.maxTokens, 1))) - log(Double(optimum.maxTokens))) / widths.logMaxTokens
        return floor + (peak - floor) * exp(-0.5 * (t * t + q * q + m * m))
    }

    /// A noisy score of `p`, clamped to 0...1 as a client's would be.
    package func score(_ p: GenerationParameters, using generator: inout SplitMix64) -> Double {
        min(max(value(p) + noise * generator.nextGaussian(), 0), 1)
    }

    /// Runs `tuner` for `budget` evaluations (or until the target, with `stopAtTarget`):
    /// suggestions drawn with seed `seed`, noise with a generator derived from it.
    package func run<T: ParameterTuning>(_ tuner: T, seed: UInt64, budget: Int, stopAtTarget: Bool = false) throws -> TuningRun {
        var tuner = tuner
        var g = SplitMix64(seed: seed)
        var noiseDraws = SplitMix64(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B)
        let goal = target * peak
        var reached: Int?
        var bestValue = floor
        var k = 0
        while k < budget {
            k += 1
            let p = try tuner.next(using: &g)
            try tuner.observe(p, score: score(p, using: &noiseDraws))
            bestValue = try tuner.incumbent().map(value) ?? bestValue
            if reached == nil, bestValue >= goal {
                reached = k
                if stopAtTarget { break }
            }
        }
        return TuningRun(evaluationsToTarget: reached, evaluations: k, bestValue: bestValue)
    }
}

/// One run of a tuning policy in a ``TuningSimulation``.
package struct TuningRun: Sendable, Equatable, Codable {
    /// Evaluations until the incumbent was within the target of the optimum (nil: never).
    package var evaluationsToTarget: Int?
    /// Evaluations made.
    package var evaluations: Int
    /// The noise-free value of the incumbent at the end.
    package var bestValue: Double

    /// Memberwise.
    package init(evaluationsToTarget: Int?, evaluations: Int, bestValue: Double) {
        self.evaluationsToTarget = evaluationsToTarget
        self.evaluations = evaluations
        self.bestValue = bestValue
    }

    enum CodingKeys: String, CodingKey {
        case evaluations
        case evaluationsToTarget = "evaluations_to_target"
        case bestValue = "best_value"
    }
}

/// One tuning policy's runs over several seeds.
package struct TuningSummary: Sendable, Equatable, Codable {
    /// Policy name.
    package var policy: String
    /// Evaluations to the target per seed (nil: not within the budget).
    package var evaluationsToTarget: [Int?]
    /// Median of ``evaluationsToTarget`` (nearest rank; nil: half the runs or more never got there).
    package var median: Int?
    /// 90th percentile, likewise.
    package var p90: Int?
    /// Share of the runs that got within the target.
    package var reachedShare: Double
    /// Median noise-free value of the final incumbents.
    package var medianBestValue: Double

    /// Summarises one policy's runs.
    package init(policy: String, runs: [TuningRun]) {
        self.policy = policy
        evaluationsToTarget = runs.map(\.evaluationsToTarget)
        let sorted = evaluationsToTarget.map { $0 ?? Int.max }.sorted()
        func quantile(_ q: Double) -> Int? {
            guard !sorted.isEmpty else { return nil }
            let v = sorted[max(Int((q * Double(sorted.count)).rounded(.up)) - 1, 0)]
            return v == Int.max ? nil : v
        }
        median = quantile(0.5)
        p90 = quantile(0.9)
        reachedShare = runs.isEmpty ? 0 : Double(runs.filter { $0.evaluationsToTarget != nil }.count) / Double(runs.count)
        let values = runs.map(\.bestValue).sorted()
        medianBestValue = values.isEmpty ? 0 : values[max((values.count + 1) / 2 - 1, 0)]
    }

    enum CodingKeys: String, CodingKey {
        case policy, median, p90
        case evaluationsToTarget = "evaluations_to_target"
        case reachedShare = "reached_share"
        case medianBestValue = "median_best_value"
    }

    /// A Markdown table of `summaries` (evaluations beyond `budget` shown as "> budget").
    package static func markdown(_ summaries: [TuningSummary], simulation: TuningSimulation, budget: Int) -> String {
        func count(_ v: Int?) -> String { v.map(String.init) ?? "> \(budget)" }
        let percent = Int(((1 - simulation.target) * 100).rounded())
        var text = "| policy | evaluations to within \(percent)%, median | p90 | seeds there | best value (median; optimum \(simulation.peak)) |\n"
        text += "|---|---|---|---|---|\n"
        for s in summaries {
            text += "| \(s.policy) | \(count(s.median)) | \(count(s.p90)) | \(Int((s.reachedShare * 100).rounded()))% | \(String(format: "%.3f", s.medianBestValue)) |\n"
        }
        return text
    }
}
