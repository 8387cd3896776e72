import CopilotCore
import Testing

/// How speech regions are joined into windows and how segments are placed back on them.
@Suite struct SpeechGroupTests {
    /// A detokenizer over a toy vocabulary: token i is `words[i]`.
    static let words = [" Good", " morning.", " Let", " us", " start.", " Thank", " you.", " and", " so", " on"]
    static func text(_ tokens: [Int]) -> String { tokens.map { words[$0] }.joined() }

    static func segment(_ start: Double, _ end: Double, _ tokens: [Int]) -> WhisperSegment {
        WhisperSegment(
            id: 7, start: start, end: end, text: text(tokens), tokens: tokens, avgLogProb: -0.3, noSpeechProb: 0.1,
            temperature: 0, compressionRatio: 1)
    }

    @Test func regionsArePackedIntoWindowsWithGapsAndNeverCut() {
        let groups = SpeechGroup.groups([0..<100, 200..<260, 400..<430, 500..<700], maximumSamples: 210, gapSamples: 10)
        #expect(groups.map(\.regions) == [[0..<100, 200..<260, 400..<430], [500..<700]])
        #expect(groups[0].joinedStarts == [0, 110, 180] && groups[0].joinedCount == 210)
        // A region longer than a window is a group of its own.
        #expect(SpeechGroup.groups([0..<500], maximumSamples: 200, gapSamples: 10).map(\.regions) == [[0..<500]])
        #expect(SpeechGroup.groups([], maximumSamples: 200, gapSamples: 10).isEmpty)
        let joined = groups[0].joined((0..<700).map(Float.init))
        #expect(joined.count == 210 && joined[0] == 0 && joined[105] == 0 && joined[110] == 200 && joined[209] == 429)
    }

    @Test func aSegmentRunningIntoTheNextRegionIsClippedToItsOwn() {
        // Regions at 1-3 s and 10-12 s of the input, joined with a 1 s gap: 0-2 s and 3-5 s.
        let group = SpeechGroup(regions: [16_000..<48_000, 160_000..<192_000], joinedStarts: [0, 48_000], joinedCount: 80_000)
        let placed = group.place(Self.segment(0.2, 3.4, [0, 1]), sampleRate: 16_000, text: Self.text)
        #expect(placed.count == 1)
        #expect(abs(placed[0].start - 1.2) < 1e-9 && abs(placed[0].end - 3) < 1e-9 && placed[0].text == " Good morning.")
        let second = group.place(Self.segment(2.6, 5, [2, 3, 4]), sampleRate: 16_000, text: Self.text)
        #expect(second.count == 1 && abs(second[0].start - 10) < 1e-9 && abs(second[0].end - 12) < 1e-9)
        // A segment in the gap alone lies on no region.
        #expect(group.place(Self.segment(2.1, 2.9, [5]), sampleRate: 16_000, text: Self.text).isEmpty)
    }

    @Test func aSegmentOverThreeRegionsIsCutAtItsSentenceEnds() {
        let group = SpeechGroup(
            regions: [0..<32_000, 100_000..<132_000, 200_000..<232_000], joinedStarts: [0, 48_000, 96_000], joinedCount: 128_000)
        let placed = group.place(Self.segment(0, 8, [0, 1, 2, 3, 4, 5, 6]), sampleRate: 16_000, text: Self.text)
        #expect(placed.map(\.text) == [" Good morning.", " Let us start.", " Thank you."])
        #expect(placed.map(\.start) == [0, 100_000 / 16_000, 200_000 / 16_000])
        #expect(placed.map(\.end) == [2, 132_000 / 16_000, 232_000 / 16_000])
        #expect(placed.map(\.tokens) == [[0, 1], [2, 3, 4], [5, 6]])
    }

    @Test func withoutSentenceEndsTheCutFallsOnAWordStart() {
        #expect(SpeechGroup.cuts([7, 8, 9, 7], into: [1, 1], text: Self.text) == [0, 2, 4])
        #expect(SpeechGroup.cuts([7, 8], into: [1], text: Self.text) == [0, 2])
        #expect(SpeechGroup.cuts([], into: [1, 1], text: Self.text) == [0, 0, 0])
    }

    @Test func speechFractionWeighsEachPartWhereItLies() throws {
        // "Speech" at 1-3 s of a 12 s input; the group joins 1-3 s and 10-12 s with a 1 s gap.
        var samples = [Float](repeating: 0, count: 192_000)
        for i in 16_000..<48_000 { samples[i] = 0.5 }
        let speech = try SpeechOnlyAudio(samples: samples, sampleRate: 16_000, detector: NonZeroDetector())
        let group = SpeechGroup(regions: [16_000..<48_000, 160_000..<192_000], joinedStarts: [0, 48_000], joinedCount: 80_000)
        #expect(abs(group.speechFraction(start: 0, end: 2, speech: speech) - 1) < 1e-9)
        #expect(abs(group.speechFraction(start: 0, end: 4, speech: speech) - 0.5) < 1e-9)  // 2 s heard, 1 s gap, 1 s silence
        #expect(group.speechFraction(start: 3, end: 5, speech: speech) == 0)
    }
}
