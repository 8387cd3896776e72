@testable import CopilotCore
import Testing

/// ``StreamedSpeechGroups`` and ``SpeechRegionBuilder``: the groups cut while the signal
/// streams in are the whole signal's, with the same joined samples and the same evidence.
@Suite struct StreamedSpeechGroupsTests {
    /// `seconds` of silence with "speech" (a ramp, so every joined sample is checked) over
    /// `spans` (in seconds).
    static func signal(_ spans: [(Double, Double)], seconds: Double) -> [Float] {
        var samples = [Float](repeating: 0, count: Int(seconds * 16_000))
        for (start, end) in spans {
            for i in Int(start * 16_000)..<min(samples.count, Int(end * 16_000)) { samples[i] = 0.1 + Float(i % 1_000) / 2_000 }
        }
        return samples
    }

    /// Spans of speech of 0.1 to 12 s separated by pauses of 0.2 to 20 s, from `seed`.
    static func randomSpans(seed: UInt64, seconds: Double) -> [(Double, Double)] {
        var generator = SplitMix64(seed: seed)
        func uniform(_ range: ClosedRange<Double>) -> Double {
            range.lowerBound + Double(generator.next() % 10_000) / 10_000 * (range.upperBound - range.lowerBound)
        }
        var spans: [(Double, Double)] = []
        var t = uniform(0...2)
        while t < seconds {
            let length = uniform(0.1...12)
            spans.append((t, min(seconds, t + length)))
            t += length + uniform(0.2...20)
        }
        return spans
    }

    static let windowSamples = 30 * 16_000
    static let gapSamples = SpeechGroup.gapSamples(sampleRate: 16_000)

    /// The groups, their joined samples and the evidence frames they came with.
    static func streamed(_ samples: [Float], block: Int) throws -> (groups: [SpeechGroup], joined: [[Float]], frames: [[Bool]], peak: Int) {
        let stream = StreamedSpeechGroups(detector: NonZeroDetector(), sampleRate: 16_000, maximumSamples: windowSamples, gapSamples: gapSamples)
        var groups: [SpeechGroup] = [], joined: [[Float]] = [], frames: [[Bool]] = []
        func take(_ group: SpeechGroup, _ samples: [Float], _ speech: SpeechOnlyAudio) {
            groups.append(group)
            joined.append(samples)
            frames.append(speech.speechFrames)
        }
        try samples.withUnsafeBufferPointer { all in
            var offset = 0
            while offset < all.count {
                let n = min(block, all.count - offset)
                try stream.feed(UnsafeBufferPointer(rebasing: all[offset..<(offset + n)]), onGroup: take)
                offset += n
            }
        }
        try stream.finish(onGroup: take)
        #expect(stream.sampleCount == samples.count)
        return (groups, joined, frames, stream.peakHeldSamples)
    }

    @Test(arguments: [(1 as UInt64, 100), (2, 1_000), (3, 16_384), (4, 160), (5, 4_096), (6, 77_777)])
    func groupsEqualTheWholeSignals(seed: UInt64, block: Int) throws {
        let seconds = 240.0
        let samples = Self.signal(Self.randomSpans(seed: seed, seconds: seconds), seconds: seconds)
        let speech = try SpeechOnlyAudio(samples: samples, sampleRate: 16_000, detector: NonZeroDetector())
        let expected = SpeechGroup.groups(speech.regions, maximumSamples: Self.windowSamples, gapSamples: Self.gapSamples)
        let got = try Self.streamed(samples, block: block)
        #expect(got.groups == expected)
        #expect(got.joined == expected.map { $0.joined(samples) })
        // Each group's evidence is a prefix of the whole signal's, long enough for its regions.
        for (group, frames) in zip(got.groups, got.frames) {
            #expect(Array(speech.speechFrames.prefix(frames.count)) == frames)
            #expect(frames.count * 160 >= (group.regions.last?.upperBound ?? 0) || frames.count == speech.speechFrames.count)
        }
    }

    @Test func speechToTheEndAndSpeechFromTheStartAreKept() throws {
        let samples = Self.signal([(0, 1), (3, 5)], seconds: 5)
        let speech = try SpeechOnlyAudio(samples: samples, sampleRate: 16_000, detector: NonZeroDetector())
        let got = try Self.streamed(samples, block: 1_000)
        #expect(got.groups == SpeechGroup.groups(speech.regions, maximumSamples: Self.windowSamples, gapSamples: Self.gapSamples))
        #expect(got.groups.flatMap(\.regions).last?.upperBound == samples.count)
    }

    @Test func silenceAloneMakesNoGroup() throws {
        let got = try Self.streamed([Float](repeating: 0, count: 5 * 16_000), block: 4_096)
        #expect(got.groups.isEmpty)
    }

    /// Ten minutes with a sentence at each end: what is held stays near one group, not the
    /// pause between them.
    @Test func heldSamplesStayBoundedOverALongPause() throws {
        let samples = Self.signal([(1, 3), (597, 599)], seconds: 600)
        let got = try Self.streamed(samples, block: 16_384)
        #expect(got.groups.count == 1 && got.groups[0].regions.count == 2)
        #expect(got.peak < 10 * 16_000, "held \(got.peak) samples")
    }

    @Test func regionBuilderMergesOverlapsAndClosesOnlyWhatNoSegmentCanReach() {
        var builder = SpeechRegionBuilder(padSamples: 100)
        func segment(_ start: Int, _ end: Int) -> SpeechSegment {
            SpeechSegment(index: 0, startSample: start, endSample: end, meanProbability: 1, sampleRate: 16_000)
        }
        #expect(builder.add(segment(50, 500)) == nil)
        #expect(builder.open == 0..<600)
        #expect(builder.add(segment(690, 800)) == nil)  // 590 <= 600: merged
        #expect(builder.open == 0..<900)
        #expect(builder.close(beforeSegmentsFrom: 1_000) == nil)  // a segment at 1000 pads back to 900
        #expect(builder.close(beforeSegmentsFrom: 1_001) == 0..<900)
        #expect(builder.add(segment(2_000, 2_100)) == nil)
        #expect(builder.add(segment(3_000, 3_100)) == 1_900..<2_200)
        #expect(builder.finish(sampleCount: 3_150) == 2_900..<3_150)
        #expect(builder.open == nil)
    }
}
