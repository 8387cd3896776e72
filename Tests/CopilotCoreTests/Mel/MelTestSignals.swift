import Foundation

/// Deterministic test signals for the mel tests.
enum MelTestSignals {
    /// A 64-bit LCG (Knuth's MMIX constants); `uniform()` is in [-1, 1) from the top 24 bits,
    /// the same sequence `benchmarks/mel_golden.py` draws.
    struct LCG {
        var state: UInt64
        mutating func uniform() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Double(state >> 40) / Double(1 << 24) * 2 - 1)
        }
    }

    /// Uniform noise in [-amplitude, amplitude).
    static func noise(count: Int, seed: UInt64, amplitude: Float = 0.5) -> [Float] {
        var lcg = LCG(state: seed)
        return (0..<count).map { _ in lcg.uniform() * amplitude }
    }

    /// A sine of `hertz` at 16 kHz.
    static func tone(hertz: Double, count: Int, amplitude: Double = 0.5) -> [Float] {
        (0..<count).map { Float(amplitude * sin(2 * Double.pi * hertz * Double($0) / 16000)) }
    }

    /// The golden signal of `benchmarks/mel_golden.py`: three sines plus LCG noise, 0.5 s.
    static func golden() -> [Float] {
        var lcg = LCG(state: 12345)
        return (0..<8000).map { i in
            let noise = Double(lcg.uniformDouble())
            let t = Double(i) / 16000
            let x = 0.5 * sin(2 * Double.pi * 440 * t) + 0.3 * sin(2 * Double.pi * 1250 * t)
                + 0.1 * sin(2 * Double.pi * 3100 * t) + 0.05 * noise
            return Float(x)
        }
    }
}

extension MelTestSignals.LCG {
    /// The same draw as `uniform()`, unrounded (the golden script mixes in double precision).
    mutating func uniformDouble() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 40) / Double(1 << 24) * 2 - 1
    }
}

/// Largest absolute difference between two equally shaped spectrograms.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var worst: Float = 0
    for i in a.indices { worst = max(worst, abs(a[i] - b[i])) }
    return worst
}
