import CopilotCore
import CopilotReference
import Foundation

/// `vad`: both detectors on 30 ms frames of generated speech-like audio in noise, optimized
/// against CopilotReference; throughput in frames, plus times real time.
enum VadBenchSuite {
    static let suite = BenchSuite(name: "vad") { ctx in
        // The reference (a plain FFT per 10 ms hop, the network as loops) takes about 0.5 ms
        // a frame.
        let defaultFrames = ctx.quick ? 30 : 300
        // Short operations (well under a scheduler time slice) keep the medians honest on a
        // shared machine.
        let energyFrames = ctx.quick ? 1_000 : 2_000
        return [
            BenchCase(name: "vad/default 30ms", unit: "frames", unitsPerOp: Double(defaultFrames),
                      audioSecondsPerOp: Double(defaultFrames) * 0.03) {
                let audio = benchAudio(frames: defaultFrames, seed: ctx.seed)
                let fast = DetectorBox(try SpectralVoiceDetector(frameMs: 30))
                let reference = DetectorBox(try ReferenceSpectralDetector(frameMs: 30))
                return BenchOperations(
                    reference: { benchBlackHole(runFrames(reference.detector, audio, limit: defaultFrames)) },
                    optimized: { benchBlackHole(runFrames(fast.detector, audio, limit: defaultFrames)) })
            },
            BenchCase(name: "vad/energy 30ms", unit: "frames", unitsPerOp: Double(energyFrames),
                      audioSecondsPerOp: Double(energyFrames) * 0.03) {
                // 500 frames (under 1 MB) replayed, so the case measures the detector and not
                // memory bandwidth.
                let audio = benchAudio(frames: min(energyFrames, 500), seed: ctx.seed)
                let fast = DetectorBox(EnergyVoiceDetector(frameSamples: 480))
                let reference = DetectorBox(ReferenceEnergyDetector(frameSamples: 480))
                return BenchOperations(
                    reference: { benchBlackHole(runFrames(reference.detector, audio, limit: energyFrames)) },
                    optimized: { benchBlackHole(runFrames(fast.detector, audio, limit: energyFrames)) })
            },
        ]
    }

    /// Noise with voiced bursts, `frames` 30 ms frames long.
    static func benchAudio(frames: Int, seed: UInt64) -> [Float] {
        var state = seed
        var out = [Float](repeating: 0, count: frames * 480)
        for i in out.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let noise = Float(Int64(bitPattern: state) >> 40) / Float(1 << 23) * 0.02
            let phase = 2 * Double.pi * 150 * Double(i) / 16_000
            var burst = 0.0
            if (i / 16_000) % 2 == 1 { burst = 0.3 * sin(phase) + 0.1 * sin(3 * phase) }
            out[i] = noise + Float(burst)
        }
        return out
    }

    /// Feeds `limit` frames, cycling through `audio`; returns the number of speech frames.
    static func runFrames(_ detector: any VoiceActivityDetecting, _ audio: [Float], limit: Int) -> Int {
        let f = detector.frameSamples
        let available = max(audio.count / f, 1)
        var speech = 0
        audio.withUnsafeBufferPointer { all in
            guard all.count >= f else { return }
            for i in 0..<limit {
                let start = (i % available) * f
                if detector.process(UnsafeBufferPointer(rebasing: all[start..<(start + f)])).isSpeech { speech += 1 }
            }
        }
        return speech
    }
}

/// A detector handed to the bench's `@Sendable` closures; the runner calls them on one thread
/// at a time.
final class DetectorBox: @unchecked Sendable {
    let detector: any VoiceActivityDetecting
    init(_ detector: any VoiceActivityDetecting) { self.detector = detector }
}
