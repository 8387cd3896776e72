import Foundation

extension SplitMix64 {
    /// A standard normal deviate (Box–Muller; one of the pair is used, so a draw costs two
    /// uniforms, a log, a square root and a cosine).
    package mutating func nextGaussian() -> Double {
        // 1 - u keeps the log's argument in (0, 1].
        let u = 1 - nextUnit(), v = nextUnit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// A Gamma(`shape`, 1) deviate, `shape > 0` (Marsaglia and Tsang's squeeze method; shapes
    /// below 1 are boosted by a uniform power). About two normals on average.
    package mutating func nextGamma(shape: Double) -> Double {
        if shape < 1 {
            let boosted = nextGamma(shape: shape + 1)
            return boosted * pow(1 - nextUnit(), 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = nextGaussian()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = 1 - nextUnit()
            let x2 = x * x
            if u < 1 - 0.0331 * x2 * x2 { return d * v }
            if log(u) < 0.5 * x2 + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// A Beta(`a`, `b`) deviate, `a, b > 0`, as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
    package mutating func nextBeta(_ a: Double, _ b: Double) -> Double {
        let x = nextGamma(shape: a)
        let y = nextGamma(shape: b)
        let sum = x + y
        return sum > 0 ? x / sum : 0.5
    }
}
