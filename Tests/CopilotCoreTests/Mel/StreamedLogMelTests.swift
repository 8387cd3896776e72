@testable import CopilotCore
import CopilotReference
import Foundation
import Testing

/// ``StreamedLogMel``: features computed as the samples arrive, a chunk at a time, and read
/// back a window at a time, against the whole signal's ``MelExtracting/logMelSpectrogram(_:)``.
@Suite struct StreamedLogMelTests {
    /// Noise and a tone, with a loud burst (the maximum) late in the signal, so a chunk's own
    /// maximum is not the whole signal's; NaN and infinities in the first samples.
    static func signal(_ count: Int, seed: UInt64 = 11) -> [Float] {
        var generator = SplitMix64(seed: seed)
        var samples = (0..<count).map { i -> Float in
            let noise = Float(Double(generator.next() % 2_001) / 1_000 - 1) * 0.05
            return noise + 0.2 * Float(sin(Double(i) * 0.07))
        }
        for i in stride(from: count * 3 / 4, to: min(count, count * 3 / 4 + 800), by: 1) { samples[i] *= 4 }
        for (i, value) in [Float.nan, .infinity, -.infinity].enumerated() where i < count { samples[i * 37 % count] = value }
        return samples
    }

    /// Appends `samples` in blocks of `block`, then finishes.
    static func streamed(_ samples: [Float], extractor: any MelExtracting, chunkFrames: Int, block: Int) throws -> StreamedLogMel {
        let mel = try StreamedLogMel(extractor: extractor, chunkFrames: chunkFrames)
        try samples.withUnsafeBufferPointer { all in
            var offset = 0
            while offset < all.count {
                let n = min(block, all.count - offset)
                try mel.append(UnsafeBufferPointer(rebasing: all[offset..<(offset + n)]))
                offset += n
            }
        }
        try mel.finish()
        return mel
    }

    @Test(arguments: [1, 2, 159, 160, 161, 199, 200, 201, 399, 400, 401, 1_000, 16_000, 48_123])
    func everyFrameEqualsTheWholeSignals(count: Int) throws {
        let samples = Self.signal(count)
        let extractor = LogMelSpectrogram(threadCount: 2)
        let whole = extractor.logMelSpectrogram(samples)
        for (chunkFrames, block) in [(1, 97), (3, 1_000), (8, 160), (64, 16_384), (3_000, 4_096)] {
            let mel = try Self.streamed(samples, extractor: extractor, chunkFrames: chunkFrames, block: block)
            #expect(mel.sampleCount == count && mel.frameCount == whole.frameCount)
            #expect(mel.maximumFeature == whole.maximumFeature, "chunk \(chunkFrames), block \(block)")
            let all = try mel.features(startFrame: 0, frameCount: whole.frameCount)
            #expect(all == whole, "chunk \(chunkFrames), block \(block): \(zip(all.values, whole.values).filter { $0 != $1 }.count) values differ")
        }
    }

    @Test func windowsEqualTheWholeSignalsWindows() throws {
        // 75 s: windows inside, across chunk edges, at the end, past the end.
        let samples = Self.signal(75 * 16_000 + 77)
        let extractor = LogMelSpectrogram(threadCount: 2)
        let whole = extractor.logMelSpectrogram(samples)
        let mel = try Self.streamed(samples, extractor: extractor, chunkFrames: 3_000, block: 16_384)
        for (start, count) in [(0, 3_000), (1, 3_000), (2_999, 3_000), (3_000, 1_234), (4_321, 3_000), (7_000, 500), (7_400, 3_000), (7_600, 3_000), (-5, 10)] {
            let window = try mel.features(startFrame: start, frameCount: count)
            #expect(window == whole.window(startFrame: start, frameCount: count), "window \(start) + \(count)")
        }
        // Held: one chunk and its context, not the signal.
        #expect(mel.peakHeldSamples < 3_000 * 160 + 400 + 16_384)
    }

    /// The reference rounds its double-precision log10 power to float before the clamp when
    /// streamed (the whole-signal path clamps in double): equal within float rounding.
    @Test(arguments: [1, 401, 5_000])
    func theReferenceStreamsWithinFloatRounding(count: Int) throws {
        let samples = Self.signal(count)
        let extractor = ReferenceLogMelSpectrogram()
        let whole = extractor.logMelSpectrogram(samples)
        let mel = try Self.streamed(samples, extractor: extractor, chunkFrames: 7, block: 333)
        let all = try mel.features(startFrame: 0, frameCount: whole.frameCount)
        #expect(all.frameCount == whole.frameCount)
        #expect(zip(all.values, whole.values).allSatisfy { abs($0 - $1) <= 1e-6 })
    }

    @Test func paddedSignalEqualsTheWholeSignalsPadding() {
        let samples = Self.signal(1_000)
        let whole = samples.withUnsafeBufferPointer { LogMelSpectrogram.paddedSignal($0) }
        let frames = WhisperMel.frameCount(sampleCount: samples.count)
        for range in [0..<frames, 0..<1, 3..<4, (frames - 1)..<frames, 2..<(frames - 2)] {
            let piece = samples.withUnsafeBufferPointer {
                WhisperMel.paddedSignal(frames: range, sampleCount: samples.count, held: $0, heldStart: 0)
            }
            let expected = whole[(range.lowerBound * 160)..<((range.upperBound - 1) * 160 + 400)]
            #expect(piece == Array(expected), "frames \(range)")
        }
    }
}
