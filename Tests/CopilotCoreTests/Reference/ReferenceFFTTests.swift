import CopilotCore
import CopilotReference
import Foundation
import Testing

/// The reference FFT against the definition, at the lengths copilot uses and at awkward ones.
@Suite struct ReferenceFFTTests {
    static func direct(_ x: [Double]) -> [Double] {
        let n = x.count
        return (0...(n / 2)).map { k in
            var re = 0.0, im = 0.0
            for t in 0..<n {
                re += x[t] * cos(2 * Double.pi * Double(k * t) / Double(n))
                im -= x[t] * sin(2 * Double.pi * Double(k * t) / Double(n))
            }
            return re * re + im * im
        }
    }

    @Test(arguments: [1, 2, 3, 5, 8, 12, 49, 256, 400, 401])
    func powerSpectrumMatchesTheDefinition(n: Int) {
        var generator = SplitMix64(seed: UInt64(n))
        let x = (0..<n).map { _ in generator.nextUnit() * 2 - 1 }
        let fast = ReferenceFFT(size: n).powerSpectrum(x), slow = Self.direct(x)
        #expect(fast.count == n / 2 + 1)
        let scale = slow.max() ?? 1
        let worst = zip(fast, slow).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-9 * max(scale, 1), "n \(n): \(worst)")
    }

    @Test func aToneLandsInItsBin() {
        let n = 400
        let x = (0..<n).map { cos(2 * Double.pi * 25 * Double($0) / Double(n)) }
        let power = ReferenceFFT(size: n).powerSpectrum(x)
        #expect(abs(power[25] - 200 * 200) < 1e-6)
        #expect(power.enumerated().filter { $0.offset != 25 }.allSatisfy { $0.element < 1e-12 })
    }
}
