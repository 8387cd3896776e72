import CopilotCore
import Foundation
import Testing

/// `copilot transcribe`'s default: the speech the VAD finds, region by region, with tiny.en on
/// espeak-ng clips built at test time (skipped without the model; espeak-ng and sox are in
/// the Makefile's APT_PACKAGES).
@Suite struct SpeechTranscriptionTests {
    static let sampleRate = 16_000

    /// One WAV per sentence joined by the given pauses (seconds, one fewer than sentences),
    /// with half a second of silence at each end; returns the samples and each sentence's
    /// span in seconds.
    static func clip(_ sentences: [String], pauses: [Double]) throws -> (samples: [Float], spans: [(Double, Double)]) {
        var samples = [Float](repeating: 0, count: sampleRate / 2)
        var spans: [(Double, Double)] = []
        for (index, sentence) in sentences.enumerated() {
            let wav = try SpeechClip.make([sentence])
            defer { try? FileManager.default.removeItem(atPath: wav) }
            let start = Double(samples.count) / Double(sampleRate)
            samples += try SpeechClip.samples(wav: wav)
            spans.append((start, Double(samples.count) / Double(sampleRate)))
            let pause = index < pauses.count ? pauses[index] : 0.5
            samples += [Float](repeating: 0, count: Int(pause * Double(sampleRate)))
        }
        return (samples, spans)
    }

    static func transcriber(_ options: TranscriptionOptions = TranscriptionOptions()) throws -> Transcriber {
        let dir = try #require(TestModel.directory)
        return Transcriber(model: try WhisperModel(directory: dir.path), options: options, threads: 2)
    }

    static func speech(_ samples: [Float]) throws -> SpeechOnlyAudio {
        try SpeechOnlyAudio(samples: samples, sampleRate: sampleRate, detector: VADSettings().makeDetector(for: .segments))
    }

    static func transcribe(_ samples: [Float], with transcriber: Transcriber) throws -> [WhisperSegment] {
        var segments: [WhisperSegment] = []
        try transcriber.transcribe(samples: samples, speech: try speech(samples)) { segments.append($0) }
        return segments
    }

    /// Words of `sentence` found in `text` (a lost sentence finds almost none).
    static func found(_ sentence: String, in text: String) -> Double {
        let heard = Set(WordErrorRate.words(text))
        let words = WordErrorRate.words(sentence)
        return Double(words.filter(heard.contains).count) / Double(max(words.count, 1))
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func everySentenceAfterLongPausesIsTranscribedWithTimesOnItsSpeech() throws {
        let sentences = [
            "Good morning everyone.", "Let us start with the budget.", "We need two more engineers.",
            "Thank you all for coming.",
        ]
        let (samples, spans) = try Self.clip(sentences, pauses: [6, 3, 8])
        let segments = try Self.transcribe(samples, with: try Self.transcriber())
        let text = segments.map(\.text).joined()
        for sentence in sentences {
            #expect(Self.found(sentence, in: text) >= 0.5, "lost \"\(sentence)\": \(text)")
        }
        let duration = Double(samples.count) / Double(Self.sampleRate)
        #expect(segments.map(\.id) == Array(segments.indices))
        for segment in segments {
            #expect(segment.start >= 0 && segment.start < segment.end && segment.end <= duration)
            // Each cue lies on one sentence (give or take the region's padding): none spans a pause.
            let onOne = spans.contains { segment.start >= $0.0 - 0.5 && segment.end <= $0.1 + 0.5 }
            #expect(onOne, "\(segment.start) ... \(segment.end) \(segment.text) spans a pause; sentences at \(spans)")
        }
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func silenceAndNoiseAloneGiveNoWords() throws {
        // A minute of digital silence, then 20 s of quiet white noise (RMS about 0.006).
        var random = SplitMix64(seed: 13)
        var samples = [Float](repeating: 0, count: 60 * Self.sampleRate)
        samples += (0..<(20 * Self.sampleRate)).map { _ in Float(random.nextUnit() * 2 - 1) * 0.011 }
        let segments = try Self.transcribe(samples, with: try Self.transcriber())
        #expect(segments.isEmpty, "\(segments.map(\.text))")
    }

    /// A sentence said three times with short pauses is one region: its text compresses past
    /// the 2.4 threshold, yet every copy has speech behind it, so the first temperature stands.
    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func aSentenceSaidThriceIsNotALoop() throws {
        let sentence = "Our teacher asked us to read the first chapter before Monday."
        let (samples, _) = try Self.clip([sentence, sentence, sentence], pauses: [0.6, 0.6])
        let speech = try Self.speech(samples)
        #expect(speech.regions.count == 1)
        var segments: [WhisperSegment] = []
        try Self.transcriber().transcribe(samples: samples, speech: speech) { segments.append($0) }
        let text = segments.map(\.text).joined()
        #expect(WordErrorRate.rate(reference: [sentence, sentence, sentence].joined(separator: " "), hypothesis: text) <= 0.25, "\(text)")
        #expect(segments.count >= 3)
        for segment in segments {
            #expect(segment.temperature == 0 && segment.compressionRatio > 2.4, "\(segment)")
        }
    }

    /// The same repeated text with no speech behind it (evidence from a detector that heard
    /// nothing) is a loop: the fallback decodes the window again. Decoder steps are counted
    /// through `shouldStop`, which is asked before each one.
    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func theSameRepeatsWithNoSpeechBehindThemAreALoop() throws {
        let sentence = "Our teacher asked us to read the first chapter before Monday."
        let (samples, _) = try Self.clip([sentence, sentence, sentence], pauses: [0.6, 0.6])
        let heard = try Self.speech(samples)
        let nothing = try Self.speech([Float](repeating: 0, count: samples.count))
        #expect(nothing.regions.isEmpty)
        var options = TranscriptionOptions()
        options.decoding.temperatures = [0, 0.2]  // one retry is enough to see it
        options.decoding.bestOf = 1
        let transcriber = try Self.transcriber(options)
        func steps(_ evidence: SpeechOnlyAudio) throws -> Int {
            var steps = 0
            try transcriber.transcribe(
                samples: samples, speechFraction: { evidence.speechFraction(fromSeconds: $0, toSeconds: $1) },
                shouldStop: {
                    steps += 1
                    return false
                }
            ) { _ in }
            return steps
        }
        let spoken = try steps(heard), looped = try steps(nothing)
        #expect(spoken > 40, "a search of three sentences takes dozens of steps")
        #expect(Double(looped) > 1.6 * Double(spoken), "\(looped) steps with no speech heard, \(spoken) with")
    }
}
