import CopilotCore
import Foundation

/// Generated test audio at 16 kHz (seeded).
enum VADSignals {
    static func silence(_ n: Int) -> [Float] { [Float](repeating: 0, count: n) }

    static func noise(_ n: Int, amplitude: Float, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float(rng.nextUnit() * 2 - 1) * amplitude }
    }

    static func tone(_ n: Int, hz: Double, amplitude: Float, phase: Double = 0) -> [Float] {
        (0..<n).map { Float(Double(amplitude) * sin(2 * Double.pi * hz * Double($0) / 16_000 + phase)) }
    }

    /// A voiced-like burst: harmonics of `f0` with a slow amplitude envelope.
    static func vowel(_ n: Int, f0: Double, amplitude: Float) -> [Float] {
        (0..<n).map { i in
            let t = Double(i) / 16_000
            var s = 0.0
            for h in 1...12 { s += sin(2 * Double.pi * f0 * Double(h) * t) / Double(h) }
            let env = sin(Double.pi * Double(i) / Double(n))
            return Float(s * 0.4 * env) * amplitude
        }
    }

    /// A sine with NaN and infinities sprinkled in.
    static func specials() -> [Float] {
        var out: [Float] = []
        for i in 0..<9_600 {
            var v = Float(sin(Double(i) * 0.05)) * 0.1
            if i % 83 == 0 { v = -.infinity }
            if i % 89 == 0 { v = .infinity }
            if i % 97 == 0 { v = .nan }
            out.append(v)
        }
        return out
    }

    /// Inputs of many kinds and lengths for differential tests.
    static func suite() -> [(String, [Float])] {
        var cases: [(String, [Float])] = [
            ("empty", []),
            ("one sample", [0.5]),
            ("silence", silence(16_000)),
            ("quiet noise", noise(24_000, amplitude: 0.003, seed: 1)),
            ("loud noise", noise(24_000, amplitude: 0.3, seed: 2)),
            ("tone", tone(20_000, hz: 440, amplitude: 0.2)),
            ("clipping", tone(16_000, hz: 200, amplitude: 3)),
        ]
        cases.append(("nan and inf", specials()))
        var speechy = noise(8_000, amplitude: 0.01, seed: 3)
        for k in 0..<4 {
            speechy += vowel(6_400, f0: 110 + 30 * Double(k), amplitude: 0.5)
            speechy += noise(4_800 + 1_600 * k, amplitude: 0.01, seed: 10 + UInt64(k))
        }
        cases.append(("bursts in noise", speechy))
        for length in [1, 159, 160, 161, 479, 480, 481, 799, 800, 801, 3_333] {
            cases.append(("noise \(length)", noise(length, amplitude: 0.05, seed: UInt64(length))))
        }
        return cases
    }
}
