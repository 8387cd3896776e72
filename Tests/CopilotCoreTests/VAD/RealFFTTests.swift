import CopilotCore
import Foundation
import Testing

@Suite struct RealFFTTests {
    /// The FFT's power spectrum equals a direct DFT's on random, impulse and tone inputs.
    @Test func matchesDirectTransform() {
        var rng = SplitMix(seed: 1)
        let fft = RealFFT256()
        var inputs: [[Float]] = [
            (0..<256).map { $0 == 0 ? 1 : 0 },
            (0..<256).map { $0 == 77 ? 1 : 0 },
            (0..<256).map { Float(sin(2 * Double.pi * 10 * Double($0) / 256)) },
            [Float](repeating: 0.5, count: 256),
        ]
        for _ in 0..<5 { inputs.append((0..<256).map { _ in Float(rng.nextDouble() * 2 - 1) }) }
        for x in inputs {
            var power = [Float](repeating: 0, count: 129)
            x.withUnsafeBufferPointer { xp in power.withUnsafeMutableBufferPointer { fft.power(xp.baseAddress!, into: $0.baseAddress!) } }
            for k in 0...128 {
                var re = 0.0, im = 0.0
                for n in 0..<256 {
                    let a = -2 * Double.pi * Double(k * n % 256) / 256
                    re += Double(x[n]) * cos(a)
                    im += Double(x[n]) * sin(a)
                }
                let expected = re * re + im * im
                #expect(abs(Double(power[k]) - expected) <= 1e-3 * max(1, expected), "bin \(k)")
            }
        }
    }
}

/// Seedable generator for test signals.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
