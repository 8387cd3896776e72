import Foundation

/// The standard normal density at `z`.
package func normalPDF(_ z: Double) -> Double {
    exp(-0.5 * z * z) / (2 * Double.pi).squareRoot()
}

/// The standard normal cumulative distribution at `z`, as erfc(−z/√2)/2 so that the far
/// left tail keeps its relative precision (1 − ½erfc(z/√2) would round to 0 there).
package func normalCDF(_ z: Double) -> Double {
    0.5 * erfc(-z / 2.0.squareRoot())
}

/// Expected improvement (for maximising) of a Gaussian belief with `mean` and `sd` over
/// `incumbent`, less a margin `xi` that favours exploring: with g = mean − incumbent − xi and
/// z = g / sd, EI = g Φ(z) + sd φ(z); without uncertainty, max(g, 0). Never negative.
package func expectedImprovement(mean: Double, sd: Double, incumbent: Double, xi: Double = 0.01) -> Double {
    let gain = mean - incumbent - xi
    guard sd > 1e-12 else { return max(gain, 0) }
    let z = gain / sd
    return max(gain * normalCDF(z) + sd * normalPDF(z), 0)
}
