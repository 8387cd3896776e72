/// The `energy` detector of the Python prototype: a frame is speech when its RMS is above a
/// fixed threshold (default 0.01 of full scale). Stateless across frames; the prototype used
/// 50 ms chunks, which is `frameSamples = 800`.
///
/// O(frameSamples) per frame, no allocation. Sums of squares are accumulated in Double over
/// four lanes so the decision matches the reference's single running sum except for inputs
/// within about 1e-12 relative of the threshold.
public final class EnergyVoiceDetector: VoiceActivityDetecting {
    /// Default RMS threshold, as a fraction of full scale.
    public static let defaultThreshold = 0.01
    /// The prototype's chunk: 50 ms at 16 kHz.
    public static let prototypeChunkSamples = 800

    public let frameSamples: Int
    /// RMS threshold (fraction of full scale) above which a frame is speech.
    public let threshold: Double
    private let thresholdEnergy: Double

    /// A detector deciding frames of `frameSamples` samples against `threshold` (RMS).
    public init(frameSamples: Int = EnergyVoiceDetector.prototypeChunkSamples, threshold: Double = EnergyVoiceDetector.defaultThreshold) {
        self.frameSamples = max(1, frameSamples)
        self.threshold = threshold
        self.thresholdEnergy = threshold * threshold * Double(max(1, frameSamples))
    }

    public func process(_ frame: UnsafeBufferPointer<Float>) -> VADDecision {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        let n = frame.count
        var i = 0
        while i + 4 <= n {
            let a = Double(VADMath.sanitize(frame[i])), b = Double(VADMath.sanitize(frame[i + 1]))
            let c = Double(VADMath.sanitize(frame[i + 2])), d = Double(VADMath.sanitize(frame[i + 3]))
            s0 += a * a
            s1 += b * b
            s2 += c * c
            s3 += d * d
            i += 4
        }
        while i < n {
            let a = Double(VADMath.sanitize(frame[i]))
            s0 += a * a
            i += 1
        }
        let speech = (s0 + s1) + (s2 + s3) > thresholdEnergy
        return VADDecision(probability: speech ? 1 : 0, isSpeech: speech)
    }

    public func reset() {}
}
