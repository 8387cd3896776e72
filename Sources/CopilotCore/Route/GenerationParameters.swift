import Foundation

/// The generation parameters the tuner sets on a chat request.
package struct GenerationParameters: Sendable, Equatable, Hashable, Codable {
    /// `temperature`.
    package var temperature: Double
    /// `top_p` (nucleus sampling's probability mass).
    package var topP: Double
    /// `max_tokens`.
    package var maxTokens: Int

    /// Memberwise.
    package init(temperature: Double, topP: Double, maxTokens: Int) {
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
    }

    enum CodingKeys: String, CodingKey {
        case temperature
        case topP = "top_p"
        case maxTokens = "max_tokens"
    }
}

/// The box the tuner searches: temperature and top_p linearly, max_tokens on a log scale
/// (128 and 256 differ as much as 1024 and 2048). Points map to the unit cube `[0,1]^3` for
/// the Gaussian process, and back with max_tokens rounded to a whole number.
package struct ParameterSpace: Sendable, Equatable, Codable {
    /// Range of `temperature`.
    package var temperature: ClosedRange<Double>
    /// Range of `top_p`.
    package var topP: ClosedRange<Double>
    /// Range of `max_tokens`, at least 1.
    package var maxTokens: ClosedRange<Int>

    /// temperature 0...2, top_p 0.05...1, max_tokens 16...4096.
    package static let defaults = ParameterSpace(temperature: 0...2, topP: 0.05...1, maxTokens: 16...4096)

    /// Dimensions of the unit cube.
    package static let dimensions = 3

    /// Memberwise.
    package init(temperature: ClosedRange<Double>, topP: ClosedRange<Double>, maxTokens: ClosedRange<Int>) {
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
    }

    private var logTokens: ClosedRange<Double> { log(Double(max(maxTokens.lowerBound, 1)))...log(Double(max(maxTokens.upperBound, 1))) }

    /// Throws ``RouteError/parameterOutOfRange(name:value:range:)`` unless every value of `p`
    /// is finite and inside the box.
    package func check(_ p: GenerationParameters) throws(RouteError) {
        let ranges: [(String, Double, ClosedRange<Double>)] = [
            ("temperature", p.temperature, temperature), ("top_p", p.topP, topP),
            ("max_tokens", Double(p.maxTokens), Double(maxTokens.lowerBound)...Double(maxTokens.upperBound)),
        ]
        for (name, value, range) in ranges where !(value.isFinite && range.contains(value)) {
            throw .parameterOutOfRange(name: name, value: value, range: range)
        }
    }

    /// Throws ``RouteError/scoreOutOfRange(_:)`` unless `score` is a number in 0...1, then
    /// checks `p` as ``check(_:)`` does: what every tuner checks before it records feedback.
    package func check(_ p: GenerationParameters, score: Double) throws(RouteError) {
        guard score.isFinite, (0...1).contains(score) else { throw .scoreOutOfRange(score) }
        try check(p)
    }

    /// `p` in the unit cube (values outside the box are clamped to its faces).
    package func unit(_ p: GenerationParameters) -> [Double] {
        [
            Self.fraction(p.temperature, temperature), Self.fraction(p.topP, topP),
            Self.fraction(log(Double(max(p.maxTokens, 1))), logTokens),
        ]
    }

    /// The parameters at unit-cube point `u` (three values; max_tokens rounded to a whole
    /// number inside its range).
    package func parameters(_ u: ArraySlice<Double>) -> GenerationParameters {
        let i = u.startIndex
        let tokens = exp(Self.value(u[i + 2], logTokens)).rounded()
        return GenerationParameters(
            temperature: Self.value(u[i], temperature), topP: Self.value(u[i + 1], topP),
            maxTokens: min(max(Int(tokens), maxTokens.lowerBound), maxTokens.upperBound))
    }

    /// The parameters at unit-cube point `u`.
    package func parameters(_ u: [Double]) -> GenerationParameters { parameters(u[...]) }

    private static func fraction(_ v: Double, _ r: ClosedRange<Double>) -> Double {
        r.upperBound > r.lowerBound ? min(max((v - r.lowerBound) / (r.upperBound - r.lowerBound), 0), 1) : 0
    }

    private static func value(_ x: Double, _ r: ClosedRange<Double>) -> Double {
        r.lowerBound + min(max(x, 0), 1) * (r.upperBound - r.lowerBound)
    }
}

/// One evaluation: the parameters tried and the feedback score they earned.
package struct TuningObservation: Sendable, Equatable, Codable {
    /// What was sent.
    package var parameters: GenerationParameters
    /// The score, 0...1.
    package var score: Double

    /// Memberwise.
    package init(parameters: GenerationParameters, score: Double) {
        self.parameters = parameters
        self.score = score
    }
}

/// A policy that proposes generation parameters and learns from their scores: the
/// Gaussian-process ``ParameterTuner``, or the reference's random search.
package protocol ParameterTuning: Sendable {
    /// The next parameters to try.
    mutating func next(using generator: inout SplitMix64) throws -> GenerationParameters
    /// Records a score (0...1) for parameters tried; throws for a score or parameter out of
    /// range.
    mutating func observe(_ parameters: GenerationParameters, score: Double) throws
    /// The parameters the policy currently believes best, if any.
    mutating func incumbent() throws -> GenerationParameters?
}
