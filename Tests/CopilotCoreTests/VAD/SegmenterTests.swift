import CopilotCore
import Testing

@Suite struct SegmenterTests {
    /// Decisions from a 0/1 pattern (one character per 30 ms frame).
    func run(_ pattern: String, shaping: SegmentShaping) -> [SpeechSegment] {
        var s = SpeechSegmenter(frameSamples: 480, sampleRate: 16_000, shaping: shaping)
        var out: [SpeechSegment] = []
        for c in pattern {
            if let seg = s.push(VADDecision(probability: c == "1" ? 0.9 : 0.1, isSpeech: c == "1")) { out.append(seg) }
        }
        if let seg = s.finish() { out.append(seg) }
        return out
    }

    @Test func bridgesShortGapsAndSplitsOnLongOnes() {
        // A 90 ms gap is bridged at min-silence 100 ms (4 frames); 150 ms is not.
        let segs = run("0011110001110000011100", shaping: SegmentShaping(minSpeechMs: 0, minSilenceMs: 100, padMs: 0))
        #expect(segs.map { [$0.startSample, $0.endSample] } == [[960, 5_760], [8_160, 9_600]])
        #expect(segs.map(\.index) == [0, 1])
    }

    @Test func dropsShortSegments() {
        let segs = run("010000001111000", shaping: SegmentShaping(minSpeechMs: 90, minSilenceMs: 60, padMs: 0))
        #expect(segs.map(\.startSample) == [3_840])
    }

    @Test func padsBeforeButNotIntoThePreviousSegment() {
        let segs = run("0000001100011", shaping: SegmentShaping(minSpeechMs: 0, minSilenceMs: 60, padMs: 100))
        // First: speech at frame 6 (2880) padded by 1600; second: frame 11 (5280) padded back
        // only to the first segment's end (3840).
        #expect(segs.map { [$0.startSample, $0.endSample] } == [[1_280, 3_840], [3_840, 6_240]])
    }

    @Test func emitsAsSoonAsSilenceIsLongEnough() {
        var s = SpeechSegmenter(frameSamples: 480, sampleRate: 16_000, shaping: SegmentShaping(minSpeechMs: 0, minSilenceMs: 90, padMs: 0))
        for _ in 0..<3 { #expect(s.push(VADDecision(probability: 1, isSpeech: true)) == nil) }
        #expect(s.push(VADDecision(probability: 0, isSpeech: false)) == nil)
        #expect(s.push(VADDecision(probability: 0, isSpeech: false)) == nil)
        let seg = s.push(VADDecision(probability: 0, isSpeech: false))
        #expect(seg?.endSample == 1_440)
        #expect(seg?.meanProbability == 1)
    }

    @Test func rejectsOutOfRangeDurations() {
        #expect(throws: VADError.invalidDuration(name: "--pad-ms", ms: -1)) {
            try SegmentShaping(minSpeechMs: 0, minSilenceMs: 0, padMs: -1).validate()
        }
    }

    /// The runner gives the same frames and segments whatever the chunking of the input.
    @Test func streamingEqualsBatch() throws {
        var samples = VADSignals.noise(16_000, amplitude: 0.01, seed: 9)
        for k in 0..<3 {
            samples += VADSignals.vowel(8_000 + 1_000 * k, f0: 120, amplitude: 0.5)
            samples += VADSignals.noise(12_000, amplitude: 0.01, seed: UInt64(20 + k))
        }
        func collect(chunk: Int) throws -> ([VADDecision], [SpeechSegment], [Int]) {
            let runner = VoiceActivityRunner(detector: try SpectralVoiceDetector(frameMs: 20), sampleRate: 16_000, shaping: .defaults, keepAudio: true)
            var frames: [VADDecision] = [], segments: [SpeechSegment] = [], lengths: [Int] = []
            runner.onFrame = { _, d in frames.append(d) }
            runner.onSegment = { s, audio in segments.append(s); lengths.append(audio?.count ?? -1) }
            try samples.withUnsafeBufferPointer { all in
                var i = 0
                while i < all.count {
                    let j = min(i + chunk, all.count)
                    try runner.feed(UnsafeBufferPointer(rebasing: all[i..<j]))
                    i = j
                }
            }
            try runner.finish()
            return (frames, segments, lengths)
        }
        let batch = try collect(chunk: samples.count)
        #expect(!batch.1.isEmpty)
        #expect(batch.2 == batch.1.map { $0.endSample - $0.startSample })
        for chunk in [1, 7, 160, 333, 4_096] {
            let streamed = try collect(chunk: chunk)
            #expect(streamed.0 == batch.0, "chunk \(chunk)")
            #expect(streamed.1 == batch.1, "chunk \(chunk)")
            #expect(streamed.2 == batch.2, "chunk \(chunk)")
        }
    }
}
