import Foundation

/// What the tuner proposes, and why.
package struct TuningSuggestion: Sendable, Equatable, Codable {
    /// Why these parameters.
    package enum Basis: String, Sendable, Codable {
        /// Too few observations for a model: the next point of the space-filling design.
        case initialDesign = "initial-design"
        /// The candidate of highest expected improvement under the Gaussian process.
        case expectedImprovement = "expected-improvement"
        /// The observed parameters of highest posterior mean (``ParameterTuner/best()``).
        case bestSoFar = "best-so-far"
    }

    /// The parameters.
    package var parameters: GenerationParameters
    /// Why.
    package var basis: Basis
    /// Posterior mean score there (nil before a model exists).
    package var predictedScore: Double?
    /// Posterior standard deviation of the score there.
    package var predictedSD: Double?
    /// Expected improvement over the best posterior mean at an observed point.
    package var expectedImprovement: Double?
    /// Observations the model was fitted to.
    package var observations: Int

    /// Memberwise.
    package init(
        parameters: GenerationParameters, basis: Basis, predictedScore: Double? = nil, predictedSD: Double? = nil,
        expectedImprovement: Double? = nil, observations: Int
    ) {
        self.parameters = parameters
        self.basis = basis
        self.predictedScore = predictedScore
        self.predictedSD = predictedSD
        self.expectedImprovement = expectedImprovement
        self.observations = observations
    }

    enum CodingKeys: String, CodingKey {
        case parameters, basis, observations
        case predictedScore = "predicted_score"
        case predictedSD = "predicted_sd"
        case expectedImprovement = "expected_improvement"
    }
}

/// Bayesian optimisation of `temperature`, `top_p` and `max_tokens` for one task type from
/// feedback scores in 0...1 (the gateway keeps one tuner per task type).
///
/// The first ``initialPoints`` suggestions are a maximin Latin hypercube; after that a
/// Gaussian process (Matern 5/2 with a length scale per parameter, hyperparameters by
/// marginal likelihood) models the scores, and the next point is the candidate of highest
/// expected improvement over the best posterior mean at an observed point. Candidates are
/// ``uniformCandidates`` uniform points of the box, ``localCandidates`` around each of the
/// three best observations, and two rounds of ``localCandidates`` ever closer around the
/// best candidate. Pure and seeded: the generator is passed in, so one seed gives one
/// sequence of suggestions.
///
/// Cost with n observations: a hyperparameter fit is up to 4 x 60 Cholesky factorisations
/// (O(n³/3) each; at every model below ``refitAlwaysBelow`` observations, then after every
/// ``refitEvery`` new ones); otherwise the model before the last observation grows by one
/// row (O(n²); one factorisation when there is none), and a suggestion adds the candidates'
/// kernel rows and a triangular solve against them (O(n² c)).
package struct ParameterTuner: Sendable {
    /// The box searched.
    package let space: ParameterSpace
    /// Points of the space-filling design tried before the model is used.
    package static let initialPoints = 6
    /// Observations kept (the oldest are dropped), which bounds a suggestion's cost.
    package static let maxObservations = 256
    /// Below this many observations the hyperparameters are fitted for every model.
    package static let refitAlwaysBelow = 40
    /// From ``refitAlwaysBelow`` on, they are fitted again after this many new observations.
    package static let refitEvery = 16
    /// Uniform candidates per suggestion.
    package static let uniformCandidates = 64
    /// Candidates around each of the three best observations, and per refinement round.
    package static let localCandidates = 12
    /// The margin of expected improvement, in score units (favours exploring a little).
    package static let improvementMargin = 0.01

    /// Observations, oldest first.
    package private(set) var observations: [TuningObservation] = []
    /// Hyperparameters of the last fit.
    package private(set) var hyperparameters = GaussianProcessHyperparameters.initial(dimensions: ParameterSpace.dimensions)
    private var fittedAt = 0
    private var design: [Double] = []
    private var designUsed = 0
    private var cachedModel: GaussianProcess?
    /// The model before the last observation, while it can grow by that one (same
    /// hyperparameters, nothing dropped).
    private var previousModel: GaussianProcess?

    /// A tuner with no observations over `space`.
    package init(space: ParameterSpace = .defaults) { self.space = space }

    /// Records that `parameters` earned `score`. Throws ``RouteError/scoreOutOfRange(_:)``
    /// for a score that is NaN or outside 0...1, and
    /// ``RouteError/parameterOutOfRange(name:value:range:)`` for parameters outside the box;
    /// nothing is recorded then.
    package mutating func observe(_ parameters: GenerationParameters, score: Double) throws(RouteError) {
        try space.check(parameters, score: score)
        observations.append(TuningObservation(parameters: parameters, score: score))
        previousModel = cachedModel?.count == observations.count - 1 ? cachedModel : nil
        if observations.count > Self.maxObservations {
            observations.removeFirst(observations.count - Self.maxObservations)
            previousModel = nil
        }
        cachedModel = nil
    }

    /// Replaces the observations (restoring saved state), checking each as ``observe(_:score:)`` does.
    package mutating func restore(_ saved: [TuningObservation]) throws(RouteError) {
        for o in saved { try space.check(o.parameters, score: o.score) }
        observations = Array(saved.suffix(Self.maxObservations))
        fittedAt = 0
        cachedModel = nil
        previousModel = nil
    }

    /// The Gaussian process over the observations, fitting the hyperparameters when due.
    package mutating func model() throws -> GaussianProcess {
        if let cachedModel { return cachedModel }
        let inputs = observations.flatMap { space.unit($0.parameters) }
        let outputs = observations.map(\.score)
        let n = observations.count
        let gp: GaussianProcess
        if n < Self.refitAlwaysBelow || n - fittedAt >= Self.refitEvery || n < fittedAt {
            gp = try GaussianProcess.fitted(inputs: inputs, outputs: outputs, dimensions: ParameterSpace.dimensions, start: hyperparameters)
            hyperparameters = gp.hyperparameters
            fittedAt = n
        } else if let previousModel, previousModel.hyperparameters == hyperparameters, let last = observations.last {
            gp = try previousModel.adding(space.unit(last.parameters), outputs: outputs)
        } else {
            gp = try GaussianProcess(inputs: inputs, outputs: outputs, dimensions: ParameterSpace.dimensions, hyperparameters: hyperparameters)
        }
        previousModel = nil
        cachedModel = gp
        return gp
    }

    /// The next parameters to try.
    package mutating func suggest(using generator: inout SplitMix64) throws -> TuningSuggestion {
        let d = ParameterSpace.dimensions
        guard observations.count >= Self.initialPoints else {
            if design.isEmpty { design = SpaceFillingDesign.latinHypercube(count: Self.initialPoints, dimensions: d, using: &generator) }
            let i = designUsed % Self.initialPoints
            designUsed += 1
            return TuningSuggestion(parameters: space.parameters(design[(i * d)..<(i * d + d)]), basis: .initialDesign, observations: observations.count)
        }
        let gp = try model()
        let observed = observations.flatMap { space.unit($0.parameters) }
        let fitted = gp.fittedMeans
        let incumbent = fitted.max() ?? 0
        var candidates: [Double] = []
        candidates.reserveCapacity((Self.uniformCandidates + 3 * Self.localCandidates) * d)
        for _ in 0..<(Self.uniformCandidates * d) { candidates.append(generator.nextUnit()) }
        for i in fitted.indices.sorted(by: { fitted[$0] > fitted[$1] }).prefix(3) {
            Self.scatter(around: observed[(i * d)..<(i * d + d)], sd: 0.08, count: Self.localCandidates, into: &candidates, using: &generator)
        }
        var best = Self.highestImprovement(gp, candidates, incumbent: incumbent)
        for sd in [0.03, 0.01] {
            var local: [Double] = []
            Self.scatter(around: best.point[...], sd: sd, count: Self.localCandidates, into: &local, using: &generator)
            let refined = Self.highestImprovement(gp, local, incumbent: incumbent)
            if refined.ei > best.ei { best = refined }
        }
        return TuningSuggestion(
            parameters: space.parameters(best.point), basis: .expectedImprovement, predictedScore: best.mean, predictedSD: best.sd,
            expectedImprovement: best.ei, observations: observations.count)
    }

    /// The observed parameters of highest posterior mean (the tuner's current answer: a
    /// lucky noisy score does not win), or nil before ``initialPoints`` observations.
    package mutating func best() throws -> TuningSuggestion? {
        guard observations.count >= Self.initialPoints else { return nil }
        let gp = try model()
        let fitted = gp.fittedMeans
        guard let i = fitted.indices.max(by: { fitted[$0] < fitted[$1] }) else { return nil }
        let sd = gp.predict(space.unit(observations[i].parameters)).sd[0]
        return TuningSuggestion(
            parameters: observations[i].parameters, basis: .bestSoFar, predictedScore: fitted[i], predictedSD: sd, observations: observations.count)
    }

    /// Appends `count` points drawn from a normal of `sd` around `center`, clamped to the cube.
    static func scatter(around center: ArraySlice<Double>, sd: Double, count: Int, into points: inout [Double], using generator: inout SplitMix64) {
        for _ in 0..<count {
            for x in center { points.append(min(max(x + sd * generator.nextGaussian(), 0), 1)) }
        }
    }

    /// The candidate of highest expected improvement (the first of equals).
    static func highestImprovement(_ gp: GaussianProcess, _ points: [Double], incumbent: Double) -> (point: [Double], mean: Double, sd: Double, ei: Double) {
        let d = gp.dimensions
        let (mean, sd) = gp.predict(points)
        var bestIndex = 0, bestEI = -Double.infinity
        for j in mean.indices {
            let ei = expectedImprovement(mean: mean[j], sd: sd[j], incumbent: incumbent, xi: improvementMargin)
            if ei > bestEI {
                bestEI = ei
                bestIndex = j
            }
        }
        return (Array(points[(bestIndex * d)..<(bestIndex * d + d)]), mean[bestIndex], sd[bestIndex], bestEI)
    }
}

extension ParameterTuner: ParameterTuning {
    /// ``suggest(using:)``'s parameters.
    package mutating func next(using generator: inout SplitMix64) throws -> GenerationParameters {
        try suggest(using: &generator).parameters
    }

    /// ``best()``'s parameters.
    package mutating func incumbent() throws -> GenerationParameters? {
        try best()?.parameters
    }
}
