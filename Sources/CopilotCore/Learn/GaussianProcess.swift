import Foundation

/// Hyperparameters of a ``GaussianProcess``, all as natural logs so that the marginal-
/// likelihood search over them is a search in a box.
package struct GaussianProcessHyperparameters: Sendable, Equatable, Codable {
    /// Log length scale per input dimension (ARD; inputs live in the unit cube).
    package var logLengthScales: [Double]
    /// Log signal variance (outputs are standardised, so about 0).
    package var logSignalVariance: Double
    /// Log noise variance, in standardised output units.
    package var logNoiseVariance: Double

    /// Memberwise.
    package init(logLengthScales: [Double], logSignalVariance: Double, logNoiseVariance: Double) {
        self.logLengthScales = logLengthScales
        self.logSignalVariance = logSignalVariance
        self.logNoiseVariance = logNoiseVariance
    }

    /// Length scales 0.3, unit signal, noise a tenth of it: a neutral start.
    package static func initial(dimensions: Int) -> Self {
        Self(logLengthScales: Array(repeating: log(0.3), count: dimensions), logSignalVariance: 0, logNoiseVariance: log(0.1))
    }

    /// The fixed extra starting points of the marginal-likelihood search: short, medium and
    /// long length scales with little noise, so a fit does not depend on one start.
    static func restarts(dimensions: Int) -> [Self] {
        [(0.12, 0.01), (0.5, 0.05), (1.5, 0.3)].map { scale, noise in
            Self(logLengthScales: Array(repeating: log(scale), count: dimensions), logSignalVariance: 0, logNoiseVariance: log(noise))
        }
    }

    /// The box the marginal-likelihood search stays in (length scales, signal, noise).
    static func bounds(dimensions: Int) -> [ClosedRange<Double>] {
        Array(repeating: log(0.03)...log(5.0), count: dimensions) + [log(0.05)...log(20.0), log(1e-5)...log(2.0)]
    }

    /// Flattened as length scales, signal, noise.
    var vector: [Double] { logLengthScales + [logSignalVariance, logNoiseVariance] }

    /// From ``vector``.
    init(vector v: [Double]) {
        self.init(logLengthScales: Array(v.dropLast(2)), logSignalVariance: v[v.count - 2], logNoiseVariance: v[v.count - 1])
    }
}

/// Errors of the learning area's models.
package enum LearnError: Error, LocalizedError, Equatable {
    /// The kernel matrix could not be factored even after adding jitter (NaN in the data, or
    /// hyperparameters far out of range).
    case singularKernel(observations: Int, jitter: Double)
    /// Inputs and outputs disagree in size.
    case shapeMismatch(inputs: Int, outputs: Int, dimensions: Int)

    /// The message for this error.
    package var errorDescription: String? {
        switch self {
        case .singularKernel(let n, let jitter):
            "Gaussian process: the \(n) x \(n) kernel matrix is not positive definite even with jitter \(jitter) on its diagonal; check the observations for NaN or infinite values"
        case .shapeMismatch(let inputs, let outputs, let dimensions):
            "Gaussian process: \(inputs) input values do not make \(outputs) rows of \(dimensions) dimensions"
        }
    }
}

/// Gaussian-process regression with a Matern 5/2 kernel (one length scale per dimension) on
/// inputs in the unit cube: the surrogate of the parameter tuner. Outputs are standardised
/// (zero mean, unit variance) before fitting; predictions come back in the outputs' units.
///
/// Fitting builds the n x n kernel matrix and factors it with LAPACK's Cholesky through
/// ``BLAS`` (O(n³/3)); a matrix that is not positive definite gets growing jitter on its
/// diagonal and is factored again. A prediction costs O(n d) for the mean and O(n²) for the
/// variance; ``predict(_:)`` does many points with one triangular solve (BLAS dtrsm).
package struct GaussianProcess: Sendable {
    /// Input dimensions.
    package let dimensions: Int
    /// Hyperparameters in use.
    package let hyperparameters: GaussianProcessHyperparameters
    /// Observations fitted.
    package let count: Int
    /// Log marginal likelihood of the standardised outputs under the hyperparameters.
    package let logMarginalLikelihood: Double
    /// Noise variance actually on the diagonal (the hyperparameter's, or more after jitter),
    /// in standardised units.
    package let diagonalNoise: Double
    private let inputs: [Double]  // count x dimensions, row-major
    private let factor: [Double]  // Cholesky factor L, count x count, column-major
    private let weights: [Double]  // (K + noise I)⁻¹ standardised outputs
    private let standardised: [Double]
    private let inverseLengthScales: [Double]
    private let signalVariance: Double
    private let outputMean: Double
    private let outputScale: Double

    /// Attempts at factoring, each with ten times the jitter of the one before.
    static let factorAttempts = 8

    /// Fits `outputs` at `inputs` (`outputs.count` rows of `dimensions` values, row-major)
    /// under fixed `hyperparameters`.
    package init(inputs: [Double], outputs: [Double], dimensions: Int, hyperparameters: GaussianProcessHyperparameters) throws(LearnError) {
        let n = outputs.count
        guard dimensions > 0, inputs.count == n * dimensions, hyperparameters.logLengthScales.count == dimensions else {
            throw .shapeMismatch(inputs: inputs.count, outputs: n, dimensions: dimensions)
        }
        let inverseLengthScales = hyperparameters.logLengthScales.map { exp(-$0) }
        let signalVariance = exp(hyperparameters.logSignalVariance)
        var kernel = [Double](repeating: 0, count: n * n)
        Self.crossKernel(
            inputs, inputs, dimensions: dimensions, inverseLengthScales: inverseLengthScales, signalVariance: signalVariance, lowerTriangleOnly: true,
            into: &kernel)
        var jitter = exp(hyperparameters.logNoiseVariance)
        var l = kernel
        var attempt = 1
        while true {
            for i in 0..<n { l[i + i * n] = kernel[i + i * n] + jitter }
            do {
                try l.withUnsafeMutableBufferPointer { try BLAS.choleskyFactor($0.baseAddress!, n: n) }
                break
            } catch {
                guard attempt < Self.factorAttempts, jitter.isFinite else { throw .singularKernel(observations: n, jitter: jitter) }
                attempt += 1
                // The factorisation overwrote the lower triangle: start again from the kernel.
                l = kernel
                jitter = max(jitter * 10, 1e-9 * signalVariance)
            }
        }
        try self.init(inputs: inputs, outputs: outputs, dimensions: dimensions, hyperparameters: hyperparameters, factor: l, diagonalNoise: jitter)
    }

    /// Finishes a fit from the Cholesky factor `factor` of the kernel matrix plus
    /// `diagonalNoise`: standardises the outputs, solves for the weights (LAPACK dpotrs,
    /// O(n²)) and computes the log marginal likelihood.
    private init(
        inputs: [Double], outputs: [Double], dimensions: Int, hyperparameters: GaussianProcessHyperparameters, factor l: [Double], diagonalNoise jitter: Double
    ) throws(LearnError) {
        let n = outputs.count
        self.dimensions = dimensions
        self.hyperparameters = hyperparameters
        self.inputs = inputs
        count = n
        inverseLengthScales = hyperparameters.logLengthScales.map { exp(-$0) }
        signalVariance = exp(hyperparameters.logSignalVariance)
        let mean = n > 0 ? outputs.reduce(0, +) / Double(n) : 0
        let variance = n > 1 ? outputs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1) : 0
        let scale = variance > 1e-18 ? variance.squareRoot() : 1
        outputMean = mean
        outputScale = scale
        diagonalNoise = jitter
        let z = outputs.map { ($0 - mean) / scale }
        var alpha = z
        do {
            try l.withUnsafeBufferPointer { l in
                try alpha.withUnsafeMutableBufferPointer { try BLAS.choleskySolve(l.baseAddress!, n: n, b: $0.baseAddress!) }
            }
        } catch {
            throw .singularKernel(observations: n, jitter: jitter)
        }
        var fit = 0.0, logDeterminant = 0.0
        for i in 0..<n {
            fit += z[i] * alpha[i]
            logDeterminant += log(l[i + i * n])
        }
        let lml = -0.5 * fit - logDeterminant - 0.5 * Double(n) * log(2 * Double.pi)
        guard lml.isFinite || n == 0 else { throw .singularKernel(observations: n, jitter: jitter) }
        logMarginalLikelihood = lml
        factor = l
        weights = alpha
        standardised = z
    }

    /// The same process with one more observation: `input` (`dimensions` values) scored
    /// `output`, given `outputs`, all outputs so far in order, that one last. The Cholesky
    /// factor grows by one row (a triangular solve, O(n²)) instead of being recomputed
    /// (O(n³/3)); when the new pivot is not positive it is factored afresh, with jitter.
    package func adding(_ input: [Double], outputs: [Double]) throws(LearnError) -> GaussianProcess {
        let n = count
        guard input.count == dimensions, outputs.count == n + 1 else {
            throw .shapeMismatch(inputs: inputs.count + input.count, outputs: outputs.count, dimensions: dimensions)
        }
        let grown = inputs + input
        var row = [Double](repeating: 0, count: n)
        Self.crossKernel(inputs, input, dimensions: dimensions, inverseLengthScales: inverseLengthScales, signalVariance: signalVariance, into: &row)
        factor.withUnsafeBufferPointer { l in
            row.withUnsafeMutableBufferPointer { BLAS.lowerTriangularSolve(l.baseAddress!, n: n, b: $0.baseAddress!, columns: 1) }
        }
        let pivot = signalVariance + diagonalNoise - row.reduce(0) { $0 + $1 * $1 }
        guard pivot > 1e-10 * signalVariance, n > 0 else {
            return try GaussianProcess(inputs: grown, outputs: outputs, dimensions: dimensions, hyperparameters: hyperparameters)
        }
        let m = n + 1
        var l = [Double](repeating: 0, count: m * m)
        factor.withUnsafeBufferPointer { old in
            l.withUnsafeMutableBufferPointer { l in
                for j in 0..<n {
                    for i in j..<n { l[i + j * m] = old[i + j * n] }
                    l[n + j * m] = row[j]
                }
                l[n + n * m] = pivot.squareRoot()
            }
        }
        return try GaussianProcess(inputs: grown, outputs: outputs, dimensions: dimensions, hyperparameters: hyperparameters, factor: l, diagonalNoise: diagonalNoise)
    }

    /// Matern 5/2 covariance between every row of `a` and every row of `b`, written
    /// column-major into `out` (`rows(a) x rows(b)`): σ² (1 + √5 r + 5r²/3) e^(−√5 r), r
    /// the length-scaled distance. O(rows(a) rows(b) d). `lowerTriangleOnly` (for `a` = `b`)
    /// fills only the entries LAPACK's Cholesky reads, half the work.
    static func crossKernel(
        _ a: [Double], _ b: [Double], dimensions d: Int, inverseLengthScales: [Double], signalVariance: Double, lowerTriangleOnly: Bool = false,
        into out: inout [Double]
    ) {
        let n = a.count / d, m = b.count / d
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                inverseLengthScales.withUnsafeBufferPointer { s in
                    out.withUnsafeMutableBufferPointer { out in
                        for j in 0..<m {
                            for i in (lowerTriangleOnly ? j : 0)..<n {
                                var r2 = 0.0
                                for k in 0..<d {
                                    let diff = (a[i * d + k] - b[j * d + k]) * s[k]
                                    r2 += diff * diff
                                }
                                let root = (5 * r2).squareRoot()
                                out[i + j * n] = signalVariance * (1 + root + root * root / 3) * exp(-root)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Posterior mean and standard deviation of the latent function (noise excluded) at each
    /// of `points` (rows of `dimensions` values, row-major), in the outputs' units.
    package func predict(_ points: [Double]) -> (mean: [Double], sd: [Double]) {
        let m = points.count / dimensions
        let n = count
        guard n > 0 else {
            return (Array(repeating: outputMean, count: m), Array(repeating: outputScale * signalVariance.squareRoot(), count: m))
        }
        var cross = [Double](repeating: 0, count: n * m)  // column j: k(X, point j)
        Self.crossKernel(inputs, points, dimensions: dimensions, inverseLengthScales: inverseLengthScales, signalVariance: signalVariance, into: &cross)
        var mean = [Double](repeating: 0, count: m)
        var sd = [Double](repeating: 0, count: m)
        cross.withUnsafeBufferPointer { c in
            weights.withUnsafeBufferPointer { w in
                for j in 0..<m {
                    var mu = 0.0
                    for i in 0..<n { mu += c[i + j * n] * w[i] }
                    mean[j] = outputMean + outputScale * mu
                }
            }
        }
        factor.withUnsafeBufferPointer { l in
            cross.withUnsafeMutableBufferPointer { BLAS.lowerTriangularSolve(l.baseAddress!, n: n, b: $0.baseAddress!, columns: m) }
        }
        cross.withUnsafeBufferPointer { v in
            for j in 0..<m {
                var q = 0.0
                for i in 0..<n { q += v[i + j * n] * v[i + j * n] }
                sd[j] = outputScale * max(signalVariance - q, 0).squareRoot()
            }
        }
        return (mean, sd)
    }

    /// Posterior mean at the training inputs, in the outputs' units: y − noise · α, O(n)
    /// (no kernel evaluations).
    package var fittedMeans: [Double] {
        (0..<count).map { outputMean + outputScale * (standardised[$0] - diagonalNoise * weights[$0]) }
    }

    /// Fits the hyperparameters by maximising the log marginal likelihood over the box of
    /// ``GaussianProcessHyperparameters``: a compass search in log space (each coordinate
    /// stepped up and down, the step halved when nothing improves) from `start` and from the
    /// fixed restarts, at most `evaluations` factorisations per start. Deterministic.
    /// Returns the best process found.
    package static func fitted(
        inputs: [Double], outputs: [Double], dimensions: Int, start: GaussianProcessHyperparameters, evaluations: Int = 60
    ) throws(LearnError) -> GaussianProcess {
        let bounds = GaussianProcessHyperparameters.bounds(dimensions: dimensions)
        func clamp(_ v: [Double]) -> [Double] { zip(v, bounds).map { min(max($0, $1.lowerBound), $1.upperBound) } }
        func fit(_ v: [Double]) -> GaussianProcess? {
            try? GaussianProcess(inputs: inputs, outputs: outputs, dimensions: dimensions, hyperparameters: GaussianProcessHyperparameters(vector: v))
        }
        var best: GaussianProcess?
        var lastError = LearnError.singularKernel(observations: outputs.count, jitter: .infinity)
        for s in [start] + GaussianProcessHyperparameters.restarts(dimensions: dimensions) {
            var x = clamp(s.vector)
            guard x.count == dimensions + 2 else { throw .shapeMismatch(inputs: inputs.count, outputs: outputs.count, dimensions: dimensions) }
            var current: GaussianProcess
            do {
                current = try GaussianProcess(
                    inputs: inputs, outputs: outputs, dimensions: dimensions, hyperparameters: GaussianProcessHyperparameters(vector: x))
            } catch {
                lastError = error
                continue
            }
            var step = 1.0
            var used = 1
            while used < evaluations && step > 0.03 {
                var improved = false
                for k in x.indices where used < evaluations {
                    for direction in [1.0, -1.0] where used < evaluations {
                        var y = x
                        y[k] += direction * step
                        y = clamp(y)
                        guard y != x else { continue }
                        used += 1
                        if let candidate = fit(y), candidate.logMarginalLikelihood > current.logMarginalLikelihood {
                            current = candidate
                            x = y
                            improved = true
                            break
                        }
                    }
                }
                if !improved { step /= 2 }
            }
            if best.map({ current.logMarginalLikelihood > $0.logMarginalLikelihood }) ?? true { best = current }
        }
        guard let best else { throw lastError }
        return best
    }
}
