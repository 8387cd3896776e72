import CopilotCore
import CopilotReference
import Testing

@Suite struct SpectralDetectorTests {
    /// Optimized (Float, FFT) and reference (Double, direct DFT) agree: probabilities within
    /// 2e-3, and decisions equal on every frame whose reference probability is not within
    /// 2e-3 of the threshold (rounding may flip those, and the hangover after them).
    @Test(arguments: [10, 20, 30])
    func agreesWithReference(frameMs: Int) throws {
        for (name, samples) in VADSignals.suite() {
            let fast = try SpectralVoiceDetector(frameMs: frameMs)
            let reference = try ReferenceSpectralDetector(frameMs: frameMs)
            let a = decisions(fast, samples), b = decisions(reference, samples)
            #expect(a.count == b.count)
            var flipped = false
            for (i, (x, y)) in zip(a, b).enumerated() {
                #expect(abs(x.probability - y.probability) <= 2e-3, "\(name) frame \(i)")
                if abs(y.probability - fast.threshold) <= 2e-3 { flipped = true }
                if !flipped { #expect(x.isSpeech == y.isSpeech, "\(name) frame \(i)") }
            }
        }
    }

    @Test func resetRestartsTheStream() throws {
        let samples = VADSignals.suite().first { $0.0 == "bursts in noise" }!.1
        let detector = try SpectralVoiceDetector(frameMs: 30)
        let first = decisions(detector, samples)
        detector.reset()
        #expect(decisions(detector, samples) == first)
    }

    @Test func findsBurstsAndIgnoresSteadyNoise() throws {
        var samples = VADSignals.noise(32_000, amplitude: 0.02, seed: 5)
        samples += VADSignals.vowel(16_000, f0: 140, amplitude: 0.6)
        samples += VADSignals.noise(32_000, amplitude: 0.02, seed: 6)
        let d = decisions(try SpectralVoiceDetector(frameMs: 30), samples)
        // Frames well inside the burst (2.0 ... 3.0 s) are often speech (a synthetic vowel is not
        // espeak speech, so not all); the second half of the
        // leading noise (1.0 ... 2.0 s, floor known by then) mostly not.
        let burst = d[70..<97].filter(\.isSpeech).count
        let noise = d[34..<66].filter(\.isSpeech).count
        #expect(burst >= 10)
        #expect(noise <= 3)
    }

    @Test func rejectsBadSettings() {
        #expect(throws: VADError.invalidFrameMs(25)) { try SpectralVoiceDetector(frameMs: 25) }
        #expect(throws: VADError.invalidAggressiveness(4)) { try SpectralVoiceDetector(aggressiveness: 4) }
        #expect(throws: VADError.self) { try SpectralVoiceDetector(threshold: 1.5) }
    }
}

@Suite struct AggressivenessTests {
    /// Stricter levels never mark more frames as speech on the same input.
    @Test func stricterLevelsKeepLessSpeech() throws {
        var samples = VADSignals.noise(16_000, amplitude: 0.05, seed: 30)
        for k in 0..<3 {
            samples += VADSignals.vowel(6_000, f0: 130 + 20 * Double(k), amplitude: 0.2)
            samples += VADSignals.noise(8_000, amplitude: 0.05, seed: 31 + UInt64(k))
        }
        let counts = try (0...3).map { level in
            decisions(try SpectralVoiceDetector(frameMs: 30, aggressiveness: level), samples).filter(\.isSpeech).count
        }
        #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 >= $1 }, "\(counts)")
        #expect(counts[0] > counts[3], "\(counts)")
        // A threshold of 0 marks every frame as speech.
        let all = decisions(try SpectralVoiceDetector(frameMs: 30, threshold: 0), samples)
        #expect(all.allSatisfy { $0.isSpeech })
    }
}
