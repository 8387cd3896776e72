import CopilotCore
import Foundation
import Testing

@Suite struct TranscriberTests {
    /// The peer benchmark's short clip (about 10 s of espeak-ng speech) and what faster-whisper
    /// 1.2.1 (fp32, beam 1, no VAD) gives for it with tiny.en; `make test` checks the release
    /// build against the same file (Tests/Fixtures/check_release_tokens.sh).
    struct Golden: Decodable {
        let sentences: [String]
        let tokens: [[Int]]
    }

    static let golden: Golden = {
        let url = SpeechClip.repository.appendingPathComponent("Tests/Fixtures/faster_whisper_short_clip.json")
        // A missing or malformed fixture is a broken checkout: fail loudly.
        return try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }()
    static var sentences: [String] { golden.sentences }
    static var fasterWhisperTokens: [[Int]] { golden.tokens }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func espeakSpeechMatchesFasterWhisperAndWERBound() throws {
        let dir = try #require(TestModel.directory)
        let model = try WhisperModel(directory: dir.path)
        let wav = try SpeechClip.make(Self.sentences)
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let samples = try SpeechClip.samples(wav: wav)
        let transcriber = Transcriber(model: model, options: TranscriptionOptions(), threads: 2)
        var segments: [WhisperSegment] = []
        try transcriber.transcribe(samples: samples) { segments.append($0) }
        let text = segments.map(\.text).joined()
        let wer = WordErrorRate.rate(reference: Self.sentences.joined(separator: " "), hypothesis: text)
        // espeak's robotic voice costs tiny.en a few words (faster-whisper: 6 of 31 wrong, 0.19).
        #expect(wer <= 0.25, "WER \(wer): \(text)")
        #expect(segments.map(\.tokens) == Self.fasterWhisperTokens, "transcript: \(text)")
        #expect(segments.map(\.start) == [0, 3, 6.5] && segments.map(\.end) == [3, 6.5, 10])
        for s in segments {
            // faster-whisper: avg_logprob -0.4918, no_speech_prob 0.1136.
            #expect(abs(s.avgLogProb - -0.4918) < 0.002 && abs(s.noSpeechProb - 0.1136) < 0.002)
            #expect(s.temperature == 0)
        }
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func silenceGivesNoSegments() throws {
        let dir = try #require(TestModel.directory)
        let model = try WhisperModel(directory: dir.path)
        let transcriber = Transcriber(model: model, options: TranscriptionOptions(), threads: 2)
        var segments: [WhisperSegment] = []
        try transcriber.transcribe(samples: []) { segments.append($0) }
        #expect(segments.isEmpty)
    }
}
