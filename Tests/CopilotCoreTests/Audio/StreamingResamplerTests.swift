@testable import CopilotCore
import CopilotReference
import Foundation
import Testing

@Suite struct StreamingResamplerTests {
    static func decimate(_ x: [Float], blocks: Int) -> [Float] {
        let decimator = HalfBandDecimator()
        var out: [Float] = []
        var i = 0
        x.withUnsafeBufferPointer { all in
            while i < x.count {
                let n = min(blocks, x.count - i)
                decimator.process(UnsafeBufferPointer(rebasing: all[i..<(i + n)]), endOfInput: false, appendingTo: &out)
                i += n
            }
        }
        decimator.process(UnsafeBufferPointer(start: nil, count: 0), endOfInput: true, appendingTo: &out)
        return out
    }

    static func rms(_ x: ArraySlice<Float>) -> Float {
        (x.map { $0 * $0 }.reduce(0, +) / Float(max(1, x.count))).squareRoot()
    }

    @Test(arguments: [0, 1, 2, 31, 62, 63, 1_000, 1_001])
    func outputCountIsHalfRoundedUp(count: Int) {
        let x = (0..<count).map { Float($0 % 7) * 0.1 }
        #expect(Self.decimate(x, blocks: 64).count == (count + 1) / 2)
    }

    @Test(arguments: [1, 2, 3, 17, 64, 5_000])
    func blockSplitDoesNotMatter(blocks: Int) {
        var generator = SystemRandomNumberGenerator()
        let x = (0..<3_001).map { _ in Float.random(in: -1...1, using: &generator) }
        #expect(Self.decimate(x, blocks: blocks) == Self.decimate(x, blocks: 10_000))
    }

    @Test func unityGainAndZeroPhase() {
        let dc = [Float](repeating: 0.5, count: 2_000)
        let out = Self.decimate(dc, blocks: 256)
        #expect(out[40..<960].allSatisfy { abs($0 - 0.5) < 1e-5 })
        // A slow tone keeps its amplitude and its timing: output m is the input at 2m.
        let rate = 44_100.0
        let tone = (0..<8_000).map { Float(0.5 * sin(2 * Double.pi * 2_000 * Double($0) / rate)) }
        let half = Self.decimate(tone, blocks: 500)
        let maxError = (100..<3_900).map { abs(half[$0] - tone[2 * $0]) }.max() ?? 1
        #expect(maxError < 1e-4)
    }

    @Test func stopbandIsAttenuated() {
        // 0.35 fs lies in the stopband (from 0.3 fs): it would alias to 0.15 fs.
        let tone = (0..<20_000).map { Float(0.5 * sin(2 * Double.pi * 0.35 * Double($0))) }
        let out = Self.decimate(tone, blocks: 4_096)
        #expect(Self.rms(out[100..<9_900]) < 1e-4)
    }

    @Test(arguments: [(44_100, 16_000, 1), (48_000, 16_000, 1), (96_000, 16_000, 2), (32_000, 16_000, 0), (192_000, 8_000, 4)])
    func plansHalfBandStages(inputRate: Int, outputRate: Int, stages: Int) throws {
        let resampler = try StreamingResampler(quality: .fastest, inputRate: inputRate, outputRate: outputRate)
        #expect(resampler.decimationStages == stages)
        #expect(try StreamingResampler(quality: .linear, inputRate: inputRate, outputRate: outputRate).decimationStages == 0)
    }

    @Test(arguments: [44_100, 48_000, 96_000])
    func highTonesDoNotAliasIntoTheSpeechBand(inputRate: Int) throws {
        // 15 kHz is above 16 kHz's Nyquist; after any decimation it must vanish, not fold down.
        let tone = AudioFixtures.sine(frequency: 15_000, rate: inputRate, frames: inputRate / 2)
        let source = MemoryFrameSource(interleaved: tone, sampleRate: inputRate, channels: 1)
        let out = try AudioStream(source: source, targetRate: 16_000).readAll()
        #expect(out.count == 8_000)
        #expect(Self.rms(out[500..<7_500]) < 0.001)
        // And a 1 kHz tone passes at full amplitude.
        let low = AudioFixtures.sine(frequency: 1_000, rate: inputRate, frames: inputRate / 2)
        let passed = try AudioStream(source: MemoryFrameSource(interleaved: low, sampleRate: inputRate, channels: 1),
                                     targetRate: 16_000).readAll()
        #expect(abs(Self.rms(passed[500..<7_500]) - Float(0.5 / 2.0.squareRoot())) < 0.005)
    }
}
