import CopilotCore
import CopilotReference
import Testing

/// Values of faster-whisper 1.2.1's numpy FeatureExtractor on `MelTestSignals.golden()`,
/// printed by `benchmarks/mel_golden.py`: (mel, frame, value).
private let goldenPoints: [(Int, Int, Float)] = [
    (0, 3, 0.453503), (4, 31, 0.071207), (8, 8, 0.169087), (12, 36, 1.296902),
    (16, 13, 0.437343), (20, 41, 0.278467), (24, 18, 0.314227), (28, 46, 0.242343),
    (32, 23, 1.289720), (36, 0, 0.889416), (40, 28, 0.399469), (44, 5, 0.377412),
    (48, 33, 0.314728), (52, 10, 0.525534), (56, 38, 0.902483), (60, 15, 0.372819),
    (64, 43, 0.396982), (68, 20, 0.448812), (72, 48, 0.265763), (76, 25, 0.384371),
]
private let goldenFrameCount = 51
private let goldenMax: Float = 1.440096

@Suite struct MelGoldenTests {
    @Test(arguments: ["optimized", "reference"])
    func matchesFasterWhisper(implementation: String) {
        let extractor: any MelExtracting =
            implementation == "optimized" ? LogMelSpectrogram() : ReferenceLogMelSpectrogram()
        let features = extractor.logMelSpectrogram(MelTestSignals.golden())
        #expect(features.frameCount == goldenFrameCount)
        for (mel, frame, value) in goldenPoints {
            #expect(abs(features[mel, frame] - value) <= 1e-3, "mel \(mel) frame \(frame)")
        }
        #expect(abs((features.values.max() ?? 0) - goldenMax) <= 1e-3)
    }
}
