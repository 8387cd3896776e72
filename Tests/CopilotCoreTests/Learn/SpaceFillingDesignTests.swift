@testable import CopilotCore
import Testing

@Suite struct SpaceFillingDesignTests {
    @Test(arguments: [1, 2, 6, 17])
    func aLatinHypercubeHasOnePointInEverySliceOfEveryAxis(count: Int) {
        var g = SplitMix64(seed: UInt64(count))
        let points = SpaceFillingDesign.latinHypercube(count: count, dimensions: 3, using: &g)
        #expect(points.count == count * 3)
        for k in 0..<3 {
            let slices = (0..<count).map { Int(points[$0 * 3 + k] * Double(count)) }
            #expect(slices.sorted() == Array(0..<count), "axis \(k)")
        }
    }

    @Test func moreTriesNeverSpreadThePointsLess() {
        var a = SplitMix64(seed: 5), b = SplitMix64(seed: 5)
        let one = SpaceFillingDesign.latinHypercube(count: 8, dimensions: 3, tries: 1, using: &a)
        let many = SpaceFillingDesign.latinHypercube(count: 8, dimensions: 3, tries: 32, using: &b)
        // The first try of both is the same design; the best of 32 is at least as spread.
        #expect(
            SpaceFillingDesign.closestPairDistanceSquared(many, dimensions: 3) >= SpaceFillingDesign.closestPairDistanceSquared(one, dimensions: 3))
        #expect(SpaceFillingDesign.latinHypercube(count: 0, dimensions: 3, using: &a).isEmpty)
    }
}
