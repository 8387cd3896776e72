/// Space-filling designs in the unit cube: where a Bayesian optimiser looks before it has a
/// model.
package enum SpaceFillingDesign {
    /// A maximin Latin hypercube: `count` points in `[0,1]^dimensions` (row-major), one in
    /// each of `count` equal slices of every axis, jittered inside its slice; of `tries`
    /// such designs drawn from `generator`, the one whose closest pair is farthest apart.
    /// O(tries · count² · dimensions).
    package static func latinHypercube(count: Int, dimensions: Int, tries: Int = 16, using generator: inout SplitMix64) -> [Double] {
        guard count > 0, dimensions > 0 else { return [] }
        var best: [Double] = []
        var bestSpacing = -1.0
        for _ in 0..<max(tries, 1) {
            var points = [Double](repeating: 0, count: count * dimensions)
            for k in 0..<dimensions {
                var slices = Array(0..<count)
                slices.shuffle(using: &generator)
                for (i, slice) in slices.enumerated() {
                    points[i * dimensions + k] = (Double(slice) + generator.nextUnit()) / Double(count)
                }
            }
            let spacing = closestPairDistanceSquared(points, dimensions: dimensions)
            if spacing > bestSpacing {
                bestSpacing = spacing
                best = points
            }
        }
        return best
    }

    /// The squared distance between the two closest rows (infinity for fewer than two).
    static func closestPairDistanceSquared(_ points: [Double], dimensions d: Int) -> Double {
        let n = points.count / d
        var closest = Double.infinity
        for i in 0..<n {
            for j in (i + 1)..<max(n, i + 1) {
                var s = 0.0
                for k in 0..<d {
                    let diff = points[i * d + k] - points[j * d + k]
                    s += diff * diff
                }
                closest = min(closest, s)
            }
        }
        return closest
    }
}
