@testable import CopilotCore
import CopilotReference
import Foundation
import Testing

@Suite struct ParameterTunerTests {
    @Test func theSpaceMapsToTheUnitCubeAndBack() {
        let space = ParameterSpace.defaults
        let p = GenerationParameters(temperature: 0.6, topP: 0.5, maxTokens: 512)
        let u = space.unit(p)
        #expect(u.allSatisfy { (0...1).contains($0) })
        #expect(space.parameters(u) == p)
        #expect(space.parameters([0, 0, 0]) == GenerationParameters(temperature: 0, topP: 0.05, maxTokens: 16))
        #expect(space.parameters([1, 1, 1]) == GenerationParameters(temperature: 2, topP: 1, maxTokens: 4096))
        #expect(space.parameters([0.5, 0.5, 0.5]).maxTokens == 256, "log scale: the geometric middle of 16 and 4096")
        #expect(space.unit(GenerationParameters(temperature: 9, topP: -1, maxTokens: 1)) == [1, 0, 0], "clamped")
    }

    @Test func firstSuggestionsAreASpaceFillingDesignThenExpectedImprovement() throws {
        var tuner = ParameterTuner()
        var g = SplitMix64(seed: 1)
        var design: [[Double]] = []
        for i in 0..<ParameterTuner.initialPoints {
            let s = try tuner.suggest(using: &g)
            #expect(s.basis == .initialDesign && s.predictedScore == nil)
            design.append(tuner.space.unit(s.parameters))
            try tuner.observe(s.parameters, score: Double(i) / 10)
        }
        // One point in each sixth of the temperature axis.
        #expect(design.map { Int($0[0] * Double(ParameterTuner.initialPoints)) }.sorted() == Array(0..<ParameterTuner.initialPoints))
        #expect(try tuner.best()?.basis == .bestSoFar)
        let s = try tuner.suggest(using: &g)
        #expect(s.basis == .expectedImprovement && (s.expectedImprovement ?? 0) > 0 && s.observations == ParameterTuner.initialPoints)
    }

    @Test func theSameSeedGivesTheSameSuggestions() throws {
        func run(_ seed: UInt64) throws -> [GenerationParameters] {
            var tuner = ParameterTuner()
            var g = SplitMix64(seed: seed)
            var noise = SplitMix64(seed: 99)
            let sim = TuningSimulation()
            return try (0..<12).map { _ in
                let p = try tuner.suggest(using: &g).parameters
                try tuner.observe(p, score: sim.score(p, using: &noise))
                return p
            }
        }
        let first = try run(3)
        #expect(try run(3) == first)
        #expect(try run(4) != first)
    }

    @Test(arguments: [Double.nan, -0.01, 1.5, .infinity, -.infinity])
    func aScoreOutsideZeroToOneThrowsAndIsNotRecorded(score: Double) throws {
        var tuner = ParameterTuner()
        let p = GenerationParameters(temperature: 0.5, topP: 0.5, maxTokens: 100)
        #expect(throws: RouteError.self) { try tuner.observe(p, score: score) }
        #expect(tuner.observations.isEmpty)
        do {
            try tuner.observe(p, score: score)
        } catch {
            #expect(error.localizedDescription.contains("is not in 0...1"), "\(error.localizedDescription)")
        }
        var random = RandomSearchTuner()
        #expect(throws: RouteError.self) { try random.observe(p, score: score) }
    }

    @Test func parametersOutsideTheBoxThrowWithTheirName() {
        var tuner = ParameterTuner()
        #expect(throws: RouteError.parameterOutOfRange(name: "temperature", value: 2.5, range: 0...2)) {
            try tuner.observe(GenerationParameters(temperature: 2.5, topP: 0.5, maxTokens: 100), score: 0.5)
        }
        #expect(throws: RouteError.self) { try tuner.observe(GenerationParameters(temperature: .nan, topP: 0.5, maxTokens: 100), score: 0.5) }
        #expect(throws: RouteError.parameterOutOfRange(name: "max_tokens", value: 8, range: 16...4096)) {
            try tuner.observe(GenerationParameters(temperature: 1, topP: 0.5, maxTokens: 8), score: 0.5)
        }
        #expect(tuner.observations.isEmpty)
    }

    @Test func observationsAreCappedAndRestored() throws {
        var tuner = ParameterTuner()
        let p = GenerationParameters(temperature: 0.5, topP: 0.5, maxTokens: 100)
        for i in 0..<(ParameterTuner.maxObservations + 10) { try tuner.observe(p, score: Double(i % 10) / 10) }
        #expect(tuner.observations.count == ParameterTuner.maxObservations)
        var other = ParameterTuner()
        try other.restore(tuner.observations)
        #expect(other.observations == tuner.observations)
        #expect(throws: RouteError.scoreOutOfRange(2)) { try other.restore([TuningObservation(parameters: p, score: 2)]) }
        #expect(other.observations == tuner.observations, "a bad restore changes nothing")
    }

    @Test func suggestionsStayInTheBoxAndTheIncumbentIsObserved() throws {
        var tuner = ParameterTuner()
        var g = SplitMix64(seed: 7)
        let sim = TuningSimulation()
        for _ in 0..<15 {
            let p = try tuner.next(using: &g)
            try tuner.space.check(p)
            try tuner.observe(p, score: sim.score(p, using: &g))
        }
        let best = try #require(try tuner.incumbent())
        #expect(tuner.observations.contains { $0.parameters == best })
    }

    /// The figures on the synthetic objective (deterministic under the seeds): the
    /// tuner within 5% of the optimum in at most 25 evaluations (median) and in at least 2x
    /// fewer than random search.
    @Test func theTunerReachesTheTargetInHalfTheEvaluationsOfRandomSearch() throws {
        let sim = TuningSimulation()
        let seeds = UInt64(1)...8
        let gp = try seeds.map { try sim.run(ParameterTuner(), seed: $0, budget: 60, stopAtTarget: true) }
        let random = try seeds.map { try sim.run(RandomSearchTuner(), seed: $0, budget: 1000, stopAtTarget: true) }
        let gpSummary = TuningSummary(policy: "gp", runs: gp), randomSummary = TuningSummary(policy: "random", runs: random)
        let gpMedian = try #require(gpSummary.median, "\(gpSummary.evaluationsToTarget)")
        #expect(gpMedian <= 25, "\(gpSummary.evaluationsToTarget)")
        #expect((randomSummary.median ?? Int.max) >= 2 * gpMedian, "gp \(gpSummary.evaluationsToTarget) random \(randomSummary.evaluationsToTarget)")
        for run in gp where run.evaluationsToTarget != nil { #expect(run.bestValue >= sim.target * sim.peak) }
    }
}
