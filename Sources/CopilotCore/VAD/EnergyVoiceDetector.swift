/// The `energy` detector of the Python prototype: a frame is speech when its RMS is above a
/// fixed threshold (default 0.01 of full scale). Stateless across frames; the prototype used
/// 50 ms chunks, which is `frameSamples = 800`.
///
/// O(frameSamples) per frame, no allocation. Squares are summed in Float over 16 lanes, so the
/// decision matches the reference's Double running sum except for frames whose RMS is within
/// about 1e-5 relative of the threshold.
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
        guard let base = frame.baseAddress else { return VADDecision(probability: 0, isSpeech: false) }
        let n = frame.count
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            let v0 = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)
            let v1 = UnsafeRawPointer(base + i + 8).loadUnaligned(as: SIMD8<Float>.self)
            let c0 = VADMath.sanitize(v0), c1 = VADMath.sanitize(v1)
            acc0 += c0 * c0
            acc1 += c1 * c1
            i += 16
        }
        let acc = acc0 + acc1
        var sum = Double((acc[0] + acc[1]) + (acc[2] + acc[3]) + ((acc[4] + acc[5]) + (acc[6] + acc[7])))
        while i < n {
            let a = Double(VADMath.sanitize(base[i]))
            sum += a * a
            i += 1
        }
        let speech = sum > thresholdEnergy
        return VADDecision(probability: speech ? 1 : 0, isSpeech: speech)
    }

    public func reset() {}
}
