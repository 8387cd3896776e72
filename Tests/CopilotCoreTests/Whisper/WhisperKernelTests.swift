import CopilotCore
import Foundation
import Testing

/// The vector kernels that release builds use (debug builds, hence the rest of the suite, take
/// the scalar libm paths), checked against libm.
@Suite struct WhisperKernelTests {
    @Test func exp8IsWithinTwoUlpsOfLibm() {
        var worst: Float = 0
        var x: Float = -90
        while x < 88 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0137 })
            let e = WhisperKernels.exp8(lanes)
            for i in 0..<8 {
                let expected = expf(lanes[i])
                if lanes[i] < -87.3 {
                    #expect(e[i] == 0)
                } else if expected > 0 {
                    worst = max(worst, abs(e[i] - expected) / expected.ulp)
                }
            }
            x += 0.11
        }
        #expect(worst <= 2, "worst \(worst) ulp")
        #expect(WhisperKernels.exp8(SIMD8(repeating: -.infinity)) == SIMD8(repeating: 0))
    }

    @Test func erf8IsWithinFiveTenMillionthsOfLibm() {
        var worst: Float = 0
        var x: Float = -7
        while x < 7 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0011 })
            let e = WhisperKernels.erf8(lanes)
            for i in 0..<8 { worst = max(worst, abs(e[i] - erff(lanes[i]))) }
            x += 0.009
        }
        #expect(worst < 5e-7, "worst \(worst)")
    }

    @Test func vectorSoftmaxAndGELUMatchScalar() {
        var g = SplitMix64(seed: 3)
        for n in [1, 7, 8, 9, 63, 1500] {
            var a = (0..<n).map { _ in Float(Int(g.next() % 2000)) / 100 - 10 }
            var b = a, c = a, d = a
            let bias = (0..<n).map { _ in Float(Int(g.next() % 200)) / 100 - 1 }
            a.withUnsafeMutableBufferPointer { WhisperKernels.softmaxVector($0.baseAddress!, count: n) }
            b.withUnsafeMutableBufferPointer { WhisperKernels.softmaxScalar($0.baseAddress!, count: n) }
            for i in 0..<n { #expect(abs(a[i] - b[i]) <= 1e-6 + 1e-5 * b[i]) }
            bias.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { WhisperKernels.geluVector($0.baseAddress!, 0..<n, bias: bp.baseAddress!) }
                d.withUnsafeMutableBufferPointer { WhisperKernels.geluScalar($0.baseAddress!, 0..<n, bias: bp.baseAddress!) }
            }
            for i in 0..<n { #expect(abs(c[i] - d[i]) <= 1e-5 * max(1, abs(d[i]))) }
        }
    }
}
