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
    /// 10 s of silence with "speech" over each of `spans` (in seconds).
    static func signal(_ spans: [(Double, Double)], seconds: Double = 10) -> [Float] {
        var samples = [Float](repeating: 0, count: Int(seconds * 16_000))
        for (start, end) in spans {
            for i in Int(start * 16_000)..<Int(end * 16_000) { samples[i] = 0.5 }
        }
        return samples
    }

    @Test func keepsPaddedSpeechRegionsSplitAtPausesOfASecond() throws {
        // Speech at 2-3 s, 4.5-5 s (a 1.5 s pause: its own region) and 5.5-6 s (a 0.5 s
        // pause: bridged), then 9.6 s to the end (padding stops at the end of the input).
        let samples = Self.signal([(2, 3), (4.5, 5), (5.5, 6), (9.6, 10)])
        let speech = try SpeechOnlyAudio(samples: samples, sampleRate: 16_000, detector: NonZeroDetector())
        let pad = SpeechOnlyAudio.padMs * 16
        #expect(speech.regions == [32_000 - pad..<48_000 + pad, 72_000 - pad..<96_000 + pad, 153_600 - pad..<160_000])
        #expect(speech.durationSeconds == 10)
        #expect(speech.speechFrames.count == 1000)
    }

    @Test func speechFractionCountsTheDetectorsFrames() throws {
        let speech = try SpeechOnlyAudio(samples: Self.signal([(2, 3)]), sampleRate: 16_000, detector: NonZeroDetector())
        #expect(speech.speechFraction(fromSeconds: 2, toSeconds: 3) == 1)
        #expect(abs(speech.speechFraction(fromSeconds: 1, toSeconds: 3) - 0.5) < 1e-9)
        #expect(speech.speechFraction(fromSeconds: 5, toSeconds: 8) == 0)
        #expect(speech.speechFraction(fromSeconds: 3, toSeconds: 3) == 0)
        #expect(speech.speechFraction(fromSeconds: 20, toSeconds: 30) == 0)  // past the end
    }

    @Test func silenceKeepsNothing() throws {
        let speech = try SpeechOnlyAudio(samples: [Float](repeating: 0, count: 16_000), sampleRate: 16_000, detector: NonZeroDetector())
        #expect(speech.regions.isEmpty)
        #expect(speech.speechFraction(fromSeconds: 0, toSeconds: 1) == 0)
    }

    @Test func emptyInputKeepsNothing() throws {
        let speech = try SpeechOnlyAudio(samples: [], sampleRate: 16_000, detector: NonZeroDetector())
        #expect(speech.regions.isEmpty && speech.speechFrames.isEmpty && speech.durationSeconds == 0)
    }
}
