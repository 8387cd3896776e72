import CopilotCore
import Testing

/// Marks a 10 ms frame as speech when any sample is non-zero.
final class NonZeroDetector: VoiceActivityDetecting {
    let frameSamples = 160
    func process(_ frame: UnsafeBufferPointer<Float>) -> VADDecision {
        let speech = frame.contains { $0 != 0 }
        return VADDecision(probability: speech ? 1 : 0, isSpeech: speech)
    }
    func reset() {}
}

@Suite struct SpeechOnlyAudioTests {
    @Test func keepsPaddedSpeechAndMapsTimesBack() throws {
        // 10 s of silence with "speech" at 2-3 s and 7-8 s (more than 2 s apart: two chunks).
        var samples = [Float](repeating: 0, count: 160_000)
        for i in 32_000..<48_000 { samples[i] = 0.5 }
        for i in 112_000..<128_000 { samples[i] = -0.5 }
        let speech = try SpeechOnlyAudio(samples: samples, sampleRate: 16_000, detector: NonZeroDetector())
        #expect(speech.chunks.count == 2)
        #expect(speech.chunks.first?.originalStart == 32_000 - 6_400)
        #expect(speech.samples.count == 2 * (16_000 + 2 * 6_400))
        // 1.0 s into the concatenation is 1.0 s into the first chunk (which starts at 1.6 s).
        #expect(abs(speech.originalTime(1.0, isEnd: false) - 2.6) < 1e-9)
        // The second chunk starts at 1.8 s of concatenated audio = 6.6 s of the original.
        #expect(abs(speech.originalTime(1.8, isEnd: false) - 6.6) < 1e-9)
        #expect(abs(speech.originalTime(1.8, isEnd: true) - 3.4) < 1e-9)
        let segment = WhisperSegment(
            id: 0, start: 0.5, end: 2.5, text: " x", tokens: [], avgLogProb: 0, noSpeechProb: 0, temperature: 0,
            compressionRatio: 1)
        let restored = speech.restore(segment)
        #expect(abs(restored.start - 2.1) < 1e-9 && abs(restored.end - 7.3) < 1e-9)
    }

    @Test func silenceKeepsNothing() throws {
        let speech = try SpeechOnlyAudio(samples: [Float](repeating: 0, count: 16_000), sampleRate: 16_000, detector: NonZeroDetector())
        #expect(speech.samples.isEmpty && speech.chunks.isEmpty)
        #expect(speech.originalTime(1.5, isEnd: false) == 1.5)
    }
}
