import CopilotCore
import Foundation

/// The Python prototype's energy VAD, line for line:
/// `rms = sqrt(mean(chunk ** 2)); speech = rms > threshold`.
public final class ReferenceEnergyDetector: VoiceActivityDetecting {
    public let frameSamples: Int
    /// RMS threshold, fraction of full scale.
    public let threshold: Double

    /// A detector deciding chunks of `frameSamples` samples against `threshold` (RMS).
    public init(frameSamples: Int = 800, threshold: Double = 0.01) {
        self.frameSamples = frameSamples
        self.threshold = threshold
    }

    public func process(_ frame: UnsafeBufferPointer<Float>) -> VADDecision {
        var sum = 0.0
        for x in frame {
            let v = Double(VADMath.sanitize(x))
            sum += v * v
        }
        let rms = (sum / Double(max(frame.count, 1))).squareRoot()
        let speech = rms > threshold
        return VADDecision(probability: speech ? 1 : 0, isSpeech: speech)
    }

    public func reset() {}
}
