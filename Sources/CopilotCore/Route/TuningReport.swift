import Foundation

/// What `copilot route tune --observations` prints: the next parameters to try and the
/// best observed so far.
package struct TuningReport: Sendable, Equatable, Codable {
    /// The next parameters to try.
    package var suggestion: TuningSuggestion
    /// The observed parameters of highest posterior mean (nil before the initial design is done).
    package var best: TuningSuggestion?

    /// Memberwise.
    package init(suggestion: TuningSuggestion, best: TuningSuggestion?) {
        self.suggestion = suggestion
        self.best = best
    }

    /// Two lines: the suggestion (with the model's prediction when there is one) and the best.
    package func plain() -> String {
        func describe(_ s: TuningSuggestion) -> String {
            let p = s.parameters
            var text = String(format: "temperature %.3f, top_p %.3f, max_tokens %d (%@", p.temperature, p.topP, p.maxTokens, s.basis.rawValue)
            if let mean = s.predictedScore, let sd = s.predictedSD { text += String(format: ", predicted score %.3f ± %.3f", mean, sd) }
            if let ei = s.expectedImprovement { text += String(format: ", expected improvement %.4f", ei) }
            return text + ")"
        }
        var text = "next: \(describe(suggestion)) after \(suggestion.observations) observations\n"
        text += "best: " + (best.map(describe) ?? "none yet (fewer than \(ParameterTuner.initialPoints) observations)") + "\n"
        return text
    }
}
