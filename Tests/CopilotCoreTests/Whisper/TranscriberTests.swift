import CopilotCore
import Foundation
import Testing

@Suite struct TranscriberTests {
    static let sentences = [
        "The quick brown fox jumps over the lazy dog.",
        "She sells sea shells by the sea shore every summer morning.",
    ]

    @Test func espeakSpeechIsTranscribedWithinWERBound() throws {
        guard let dir = TestModel.directory else {
            print(TestModel.skipMessage)
            return
        }
        let model = try WhisperModel(directory: dir.path)
        let wav = try SpeechClip.make(Self.sentences)
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let samples = try SpeechClip.samples(wav: wav)
        let transcriber = Transcriber(model: model, options: TranscriptionOptions(), threads: 2)
        var segments: [WhisperSegment] = []
        try transcriber.transcribe(samples: samples) { segments.append($0) }
        let text = segments.map(\.text).joined()
        let wer = WordErrorRate.rate(reference: Self.sentences.joined(separator: " "), hypothesis: text)
        print("transcript: \(text) (WER \(wer))")
        // espeak's robotic voice: tiny.en gets most words; 0.25 leaves room for a few misses.
        #expect(wer <= 0.25, "WER \(wer): \(text)")
        #expect(!segments.isEmpty)
        let duration = Double(samples.count) / 16000
        for s in segments {
            #expect(s.start >= 0 && s.start < s.end && s.end <= duration + 0.5)
            #expect(s.avgLogProb <= 0 && s.noSpeechProb >= 0 && s.noSpeechProb <= 1)
        }
    }
}
