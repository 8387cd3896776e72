import CopilotCore
import CopilotReference
import Testing

/// Runs a detector over whole frames of `samples`.
func decisions(_ detector: any VoiceActivityDetecting, _ samples: [Float]) -> [VADDecision] {
    let f = detector.frameSamples
    return samples.withUnsafeBufferPointer { all in
        stride(from: 0, through: all.count - f, by: f).map { detector.process(UnsafeBufferPointer(rebasing: all[$0..<($0 + f)])) }
    }
}

@Suite struct EnergyDetectorTests {
    @Test(arguments: [160, 320, 480, 800])
    func agreesWithReference(frameSamples: Int) {
        for (name, samples) in VADSignals.suite() {
            for threshold in [0.001, 0.01, 0.05] {
                let fast = decisions(EnergyVoiceDetector(frameSamples: frameSamples, threshold: threshold), samples)
                let reference = decisions(ReferenceEnergyDetector(frameSamples: frameSamples, threshold: threshold), samples)
                #expect(fast == reference, "\(name) at threshold \(threshold)")
            }
        }
    }

    @Test func decidesByRMS() {
        let detector = EnergyVoiceDetector(frameSamples: 800, threshold: 0.01)
        let quiet = decisions(detector, VADSignals.tone(800, hz: 400, amplitude: 0.005))
        let loud = decisions(detector, VADSignals.tone(800, hz: 400, amplitude: 0.05))
        #expect(quiet == [VADDecision(probability: 0, isSpeech: false)])
        #expect(loud == [VADDecision(probability: 1, isSpeech: true)])
    }

    @Test func nanAndInfinityCountAsClipping() {
        let detector = EnergyVoiceDetector(frameSamples: 160, threshold: 0.5)
        for value in [Float.nan, .infinity, -.infinity] {
            #expect(decisions(detector, [Float](repeating: value, count: 160)).first?.isSpeech == true)
        }
    }
}
