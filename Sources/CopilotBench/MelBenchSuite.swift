import CopilotCore
import CopilotReference

/// Log-mel features: the SIMD FFT extractor against the reference's plain FFT and filter-bank
/// loops (faster-whisper's numpy extractor, the real peer, takes about 35 ms per 30 s here:
/// `benchmarks/mel_compare.py`).
///
/// The reference costs about a second per minute of audio, so the full run times a 30 s
/// window and quick mode one second.
let melBenchSuite = BenchSuite(name: "mel") { context in
    let seconds = context.quick ? 1 : 30
    let samples = seconds * WhisperMel.sampleRate
    @Sendable func noise() -> [Float] {
        var state = context.seed
        return (0..<samples).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Double(state >> 40) / Double(1 << 24) - 0.5)
        }
    }
    return [
        BenchCase(
            name: "mel/log-mel \(seconds)s", unit: "frames",
            unitsPerOp: Double(WhisperMel.frameCount(sampleCount: samples)),
            audioSecondsPerOp: Double(seconds)
        ) {
            let audio = noise()
            let fast = LogMelSpectrogram()
            let reference = ReferenceLogMelSpectrogram()
            return BenchOperations(
                reference: { benchBlackHole(reference.logMelSpectrogram(audio)) },
                optimized: { benchBlackHole(fast.logMelSpectrogram(audio)) })
        }
    ]
}
