import CopilotCore

/// Random search: every suggestion a uniform point of the box (max_tokens uniform on its log
/// scale, as the tuner sees it); the incumbent is the observation of highest score. The
/// baseline the Gaussian-process tuner must beat, and its oracle in the simulation.
package struct RandomSearchTuner: ParameterTuning {
    /// The box.
    package let space: ParameterSpace
    private var bestSoFar: TuningObservation?

    /// A search over `space`.
    package init(space: ParameterSpace = .defaults) { self.space = space }

    /// A uniform point of the box.
    package mutating func next(using generator: inout SplitMix64) throws -> GenerationParameters {
        space.parameters((0..<ParameterSpace.dimensions).map { _ in generator.nextUnit() })
    }

    /// Keeps the best observation; the same checks as the tuner's.
    package mutating func observe(_ parameters: GenerationParameters, score: Double) throws {
        try space.check(parameters, score: score)
        if score > bestSoFar?.score ?? -1 { bestSoFar = TuningObservation(parameters: parameters, score: score) }
    }

    /// The observation of highest score.
    package func incumbent() -> GenerationParameters? { bestSoFar?.parameters }
}
