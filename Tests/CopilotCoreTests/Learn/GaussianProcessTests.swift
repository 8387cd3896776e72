@testable import CopilotCore
import Foundation
import Testing

/// Plain-loop Cholesky (lower, column-major) and the GP's log marginal likelihood: the oracle
/// for the LAPACK path.
enum PlainCholesky {
    static func factor(_ a: [Double], n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var d = a[j + j * n]
            for k in 0..<j { d -= l[j + k * n] * l[j + k * n] }
            guard d > 0 else { return nil }
            l[j + j * n] = d.squareRoot()
            for i in (j + 1)..<max(n, j + 1) {
                var s = a[i + j * n]
                for k in 0..<j { s -= l[i + k * n] * l[j + k * n] }
                l[i + j * n] = s / l[j + j * n]
            }
        }
        return l
    }

    static func randomSPD(n: Int, using g: inout SplitMix64) -> [Double] {
        let b = (0..<(n * n)).map { _ in g.nextUnit() - 0.5 }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0
                for k in 0..<n { s += b[i + k * n] * b[j + k * n] }
                a[i + j * n] = s + (i == j ? Double(n) * 0.1 : 0)
            }
        }
        return a
    }
}

@Suite struct GaussianProcessTests {
    @Test func lapackCholeskyAgreesWithThePlainLoopAtManySizes() throws {
        var g = SplitMix64(seed: 9)
        for n in [1, 2, 3, 7, 16, 33, 64] {
            let a = PlainCholesky.randomSPD(n: n, using: &g)
            var l = a
            try l.withUnsafeMutableBufferPointer { try BLAS.choleskyFactor($0.baseAddress!, n: n) }
            let expected = try #require(PlainCholesky.factor(a, n: n))
            for j in 0..<n {
                for i in j..<n { #expect(abs(l[i + j * n] - expected[i + j * n]) < 1e-9 * Double(n), "n \(n) (\(i), \(j))") }
            }
            // Solve A x = b and check the residual.
            let b = (0..<n).map { Double($0) - 1.5 }
            var x = b
            try l.withUnsafeBufferPointer { lp in try x.withUnsafeMutableBufferPointer { try BLAS.choleskySolve(lp.baseAddress!, n: n, b: $0.baseAddress!) } }
            for i in 0..<n {
                var s = 0.0
                for k in 0..<n { s += a[i + k * n] * x[k] }
                #expect(abs(s - b[i]) < 1e-8 * Double(n))
            }
        }
    }

    @Test func aMatrixThatIsNotPositiveDefiniteThrows() {
        var a: [Double] = [1, 2, 2, 1]  // eigenvalues 3 and -1
        #expect(throws: LinearAlgebraError.notPositiveDefinite(order: 2)) {
            try a.withUnsafeMutableBufferPointer { try BLAS.choleskyFactor($0.baseAddress!, n: 2) }
        }
    }

    @Test func posteriorInterpolatesTheDataAndRevertsToThePriorFarAway() throws {
        let xs: [Double] = [0.1, 0.3, 0.5, 0.7, 0.9]
        let ys = xs.map { sin(6 * $0) }
        let h = GaussianProcessHyperparameters(logLengthScales: [log(0.2)], logSignalVariance: 0, logNoiseVariance: log(1e-6))
        let gp = try GaussianProcess(inputs: xs, outputs: ys, dimensions: 1, hyperparameters: h)
        let (mean, sd) = gp.predict(xs + [10])
        for i in xs.indices {
            #expect(abs(mean[i] - ys[i]) < 1e-3)
            #expect(sd[i] < 0.01)
        }
        let ysMean = ys.reduce(0, +) / 5
        #expect(abs(mean[5] - ysMean) < 1e-6, "far away: the data's mean")
        #expect(sd[5] > 0.5, "far away: the prior's spread")
    }

    @Test func logMarginalLikelihoodMatchesThePlainComputation() throws {
        var g = SplitMix64(seed: 4)
        let n = 12, d = 3
        let x = (0..<(n * d)).map { _ in g.nextUnit() }
        let y = (0..<n).map { i in x[i * d] - 2 * x[i * d + 1] + 0.1 * g.nextGaussian() }
        let h = GaussianProcessHyperparameters(logLengthScales: [log(0.5), log(0.3), log(1.0)], logSignalVariance: log(1.3), logNoiseVariance: log(0.05))
        let gp = try GaussianProcess(inputs: x, outputs: y, dimensions: d, hyperparameters: h)
        // Plain: standardise, build K, factor, solve by substitution.
        let mean = y.reduce(0, +) / Double(n)
        let scale = (y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)).squareRoot()
        let z = y.map { ($0 - mean) / scale }
        var k = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                var r2 = 0.0
                for c in 0..<d {
                    let diff = (x[i * d + c] - x[j * d + c]) / exp(h.logLengthScales[c])
                    r2 += diff * diff
                }
                let s = (5 * r2).squareRoot()
                k[i + j * n] = exp(h.logSignalVariance) * (1 + s + s * s / 3) * exp(-s) + (i == j ? exp(h.logNoiseVariance) : 0)
            }
        }
        let l = try #require(PlainCholesky.factor(k, n: n))
        var w = z
        for i in 0..<n {
            for c in 0..<i { w[i] -= l[i + c * n] * w[c] }
            w[i] /= l[i + i * n]
        }
        let expected = -0.5 * w.reduce(0) { $0 + $1 * $1 } - (0..<n).reduce(0) { $0 + log(l[$1 + $1 * n]) } - 0.5 * Double(n) * log(2 * Double.pi)
        #expect(abs(gp.logMarginalLikelihood - expected) < 1e-9)
    }

    @Test func fittingRaisesTheMarginalLikelihoodAndStaysInItsBox() throws {
        var g = SplitMix64(seed: 8)
        let n = 30
        let x = (0..<(n * 2)).map { _ in g.nextUnit() }
        let y = (0..<n).map { i in sin(8 * x[i * 2]) + 0.02 * g.nextGaussian() }
        let start = GaussianProcessHyperparameters.initial(dimensions: 2)
        let initial = try GaussianProcess(inputs: x, outputs: y, dimensions: 2, hyperparameters: start)
        let fitted = try GaussianProcess.fitted(inputs: x, outputs: y, dimensions: 2, start: start)
        #expect(fitted.logMarginalLikelihood > initial.logMarginalLikelihood + 1)
        let bounds = GaussianProcessHyperparameters.bounds(dimensions: 2)
        for (v, b) in zip(fitted.hyperparameters.vector, bounds) { #expect(b.contains(v)) }
        // The second input is irrelevant: its length-scale should come out longer.
        #expect(fitted.hyperparameters.logLengthScales[1] > fitted.hyperparameters.logLengthScales[0])
    }

    @Test func aSingularKernelGetsJitterInsteadOfFailing() throws {
        // Two identical inputs and no noise: the kernel matrix is exactly singular.
        let h = GaussianProcessHyperparameters(logLengthScales: [log(0.3)], logSignalVariance: 0, logNoiseVariance: -.infinity)
        let gp = try GaussianProcess(inputs: [0.5, 0.5, 0.9], outputs: [0.2, 0.4, 0.1], dimensions: 1, hyperparameters: h)
        #expect(gp.diagonalNoise > 0)
        #expect(abs(gp.predict([0.5]).mean[0] - 0.3) < 1e-3, "the duplicates' average")
        #expect(gp.logMarginalLikelihood.isFinite)
    }

    @Test func growingByOneObservationAgreesWithAFreshFit() throws {
        var g = SplitMix64(seed: 33)
        let d = 3
        let h = GaussianProcessHyperparameters(logLengthScales: [log(0.3), log(0.5), log(0.8)], logSignalVariance: log(0.7), logNoiseVariance: log(0.02))
        for n in [0, 1, 5, 40] {
            let x = (0..<((n + 1) * d)).map { _ in g.nextUnit() }
            let y = (0...n).map { _ in g.nextUnit() }
            let before = try GaussianProcess(inputs: Array(x.prefix(n * d)), outputs: Array(y.prefix(n)), dimensions: d, hyperparameters: h)
            let grown = try before.adding(Array(x.suffix(d)), outputs: y)
            let fresh = try GaussianProcess(inputs: x, outputs: y, dimensions: d, hyperparameters: h)
            #expect(abs(grown.logMarginalLikelihood - fresh.logMarginalLikelihood) < 1e-9, "n \(n)")
            let probe = (0..<(7 * d)).map { _ in g.nextUnit() }
            let (a, b) = (grown.predict(probe), fresh.predict(probe))
            for j in 0..<7 {
                #expect(abs(a.mean[j] - b.mean[j]) < 1e-9 && abs(a.sd[j] - b.sd[j]) < 1e-9, "n \(n) probe \(j)")
            }
        }
        // A duplicate input without noise: no positive pivot, so a fresh factorisation with jitter.
        let exact = GaussianProcessHyperparameters(logLengthScales: [log(0.3)], logSignalVariance: 0, logNoiseVariance: -.infinity)
        let one = try GaussianProcess(inputs: [0.5], outputs: [0.2], dimensions: 1, hyperparameters: exact)
        let two = try one.adding([0.5], outputs: [0.2, 0.4])
        #expect(two.diagonalNoise > 0 && abs(two.predict([0.5]).mean[0] - 0.3) < 1e-3)
    }

    @Test func badDataThrowsInsteadOfCrashing() {
        let h = GaussianProcessHyperparameters.initial(dimensions: 1)
        #expect(throws: LearnError.self) { try GaussianProcess(inputs: [0.1, 0.2], outputs: [0.5, .nan], dimensions: 1, hyperparameters: h) }
        #expect(throws: LearnError.shapeMismatch(inputs: 3, outputs: 2, dimensions: 1)) {
            try GaussianProcess(inputs: [0.1, 0.2, 0.3], outputs: [0.5, 0.6], dimensions: 1, hyperparameters: h)
        }
    }

    @Test func posteriorInterpolatesNoiseFreePointsInThreeDimensions() throws {
        var g = SplitMix64(seed: 21)
        let n = 20
        let x = (0..<(n * 3)).map { _ in g.nextUnit() }
        let y: [Double] = (0..<n).map { (i: Int) -> Double in
            let a = sin(3 * x[i * 3])
            return a + x[i * 3 + 1] * x[i * 3 + 2]
        }
        let h = GaussianProcessHyperparameters(logLengthScales: [log(0.4), log(0.6), log(0.6)], logSignalVariance: 0, logNoiseVariance: log(1e-8))
        let gp = try GaussianProcess(inputs: x, outputs: y, dimensions: 3, hyperparameters: h)
        let (mean, sd) = gp.predict(x)
        let spread = (y.max() ?? 0) - (y.min() ?? 0)
        for i in 0..<n {
            #expect(abs(mean[i] - y[i]) < 1e-3 * spread, "point \(i)")
            #expect(sd[i] < 0.01 * spread, "point \(i)")
            #expect(abs(gp.fittedMeans[i] - mean[i]) < 1e-6, "point \(i)")
        }
        #expect(gp.predict([0.5, 0.5, 5]).sd[0] > 0.2 * spread, "unexplored: uncertain")
    }

    @Test func normalCDFKeepsItsTails() {
        #expect(normalCDF(0) == 0.5)
        #expect(abs(normalCDF(1.959963984540054) - 0.975) < 1e-12)
        #expect(abs(normalCDF(-1) - 0.15865525393145707) < 1e-14)
        // Φ(−10) ≈ 7.6199e−24: the erfc form keeps it; 1 − Φ(10) would be 0.
        #expect(abs(normalCDF(-10) / 7.619853024160527e-24 - 1) < 1e-9)
    }

    @Test func expectedImprovementVanishesFarBelowTheIncumbentAndNotWhereUnexplored() throws {
        let xs: [Double] = [0.1, 0.2, 0.3, 0.4]
        let ys: [Double] = [0.1, 0.2, 0.9, 0.3]
        let h = GaussianProcessHyperparameters(logLengthScales: [log(0.1)], logSignalVariance: 0, logNoiseVariance: log(1e-6))
        let gp = try GaussianProcess(inputs: xs, outputs: ys, dimensions: 1, hyperparameters: h)
        let incumbent = gp.fittedMeans.max() ?? 0
        let (mean, sd) = gp.predict([0.1, 0.95])
        let atLow = expectedImprovement(mean: mean[0], sd: sd[0], incumbent: incumbent)
        let unexplored = expectedImprovement(mean: mean[1], sd: sd[1], incumbent: incumbent)
        #expect(atLow < 1e-9, "\(atLow)")
        #expect(unexplored > 0.01, "\(unexplored)")
    }

    @Test func expectedImprovementIsTheGainWithoutUncertaintyAndGrowsWithIt() {
        #expect(expectedImprovement(mean: 1, sd: 0, incumbent: 0.5, xi: 0) == 0.5)
        #expect(expectedImprovement(mean: 0.2, sd: 0, incumbent: 0.5, xi: 0) == 0)
        // At the incumbent, EI = sd / sqrt(2 pi).
        #expect(abs(expectedImprovement(mean: 0.5, sd: 0.3, incumbent: 0.5, xi: 0) - 0.3 / (2 * Double.pi).squareRoot()) < 1e-12)
        #expect(expectedImprovement(mean: 0.4, sd: 0.2, incumbent: 0.5) > expectedImprovement(mean: 0.4, sd: 0.1, incumbent: 0.5))
    }
}
