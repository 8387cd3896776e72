import CopilotCore
import Foundation
import Testing

@Suite struct RealFFTTests {
    /// The FFT's power spectrum equals a direct DFT's on random, impulse and tone inputs.
    @Test func matchesDirectTransform() {
        var rng = SplitMix64(seed: 1)
        let fft = RealFFT256()
        var inputs: [[Float]] = [
            (0..<256).map { $0 == 0 ? 1 : 0 },
            (0..<256).map { $0 == 77 ? 1 : 0 },
            (0..<256).map { Float(sin(2 * Double.pi * 10 * Double($0) / 256)) },
            [Float](repeating: 0.5, count: 256),
        ]
        for _ in 0..<5 { inputs.append((0..<256).map { _ in Float(rng.nextUnit() * 2 - 1) }) }
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
