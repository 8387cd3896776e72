import Foundation

/// The default detector: adaptive spectral features (`SpectralFeatureExtractor`) every 10 ms,
/// a small neural network (`SpectralVADModel`, trained offline by `benchmarks/vad_train.py`)
/// giving a speech probability per hop, the frame's probability as the mean over its hops,
/// then a threshold and a hangover set by the aggressiveness.
///
/// Frames must be 10, 20 or 30 ms (1, 2 or 3 hops). Per 30 ms frame: three 256-point FFTs and
/// a 33x16 network; no allocation.
public final class SpectralVoiceDetector: VoiceActivityDetecting {
    typealias P = SpectralVADParameters

    public let frameSamples: Int
    /// Probability threshold in use.
    public let threshold: Float
    /// Frames speech is held after the probability drops below the threshold.
    public let hangoverFrames: Int

    private let extractor = SpectralFeatureExtractor()
    private let features: UnsafeMutablePointer<Float>
    private let model: SpectralNetwork
    private var hangoverLeft = 0

    /// A detector for frames of `frameMs` (10, 20 or 30) at 16 kHz; `aggressiveness` 0 ... 3
    /// picks the threshold and hangover, `threshold` (0 ... 1) overrides the threshold.
    public init(frameMs: Int = 30, aggressiveness: Int = SpectralVADParameters.defaultAggressiveness, threshold: Double? = nil) throws {
        guard [10, 20, 30].contains(frameMs) else { throw VADError.invalidFrameMs(frameMs) }
        guard (0...3).contains(aggressiveness) else { throw VADError.invalidAggressiveness(aggressiveness) }
        if let threshold, !(0...1).contains(threshold) {
            throw VADError.invalidThreshold(name: "--threshold", value: threshold, range: 0...1)
        }
        let setting = P.aggressivenessTable[aggressiveness]
        frameSamples = frameMs * P.sampleRate / 1000
        self.threshold = Float(threshold ?? setting.threshold)
        hangoverFrames = (setting.hangoverMs + frameMs - 1) / frameMs
        features = .allocate(capacity: P.featureCount)
        model = SpectralNetwork()
    }

    deinit { features.deallocate() }

    public func process(_ frame: UnsafeBufferPointer<Float>) -> VADDecision {
        guard let base = frame.baseAddress, frame.count == frameSamples else {
            return VADDecision(probability: 0, isSpeech: false)
        }
        var sum: Float = 0
        var offset = 0
        while offset + P.hopSamples <= frameSamples {
            extractor.process(hop: base + offset, features: features)
            sum += model.probability(features)
            offset += P.hopSamples
        }
        let probability = sum / Float(frameSamples / P.hopSamples)
        let speech: Bool
        if probability >= threshold {
            speech = true
            hangoverLeft = hangoverFrames
        } else if hangoverLeft > 0 {
            speech = true
            hangoverLeft -= 1
        } else {
            speech = false
        }
        return VADDecision(probability: probability, isSpeech: speech)
    }

    public func reset() {
        extractor.reset()
        hangoverLeft = 0
    }
}

/// `SpectralVADModel`'s weights laid out for the hot loop: the hidden layer as one 16-lane
/// vector per input, so a hop costs 33 vector multiply-adds, one vector tanh and a 16-term dot.
final class SpectralNetwork {
    private let inputs = SpectralVADModel.inputCount
    private let columns: UnsafeMutablePointer<SIMD16<Float>>
    private let b1: SIMD16<Float>
    private let w2: SIMD16<Float>
    private let b2 = SpectralVADModel.outputBias

    init() {
        // The layout needs exactly 16 hidden units; vad_train.py exports that shape.
        precondition(SpectralVADModel.hiddenCount == 16, "SpectralVADModel must have 16 hidden units")
        columns = .allocate(capacity: inputs)
        for i in 0..<inputs {
            var c = SIMD16<Float>()
            for j in 0..<16 { c[j] = SpectralVADModel.hiddenWeights[j * inputs + i] }
            columns[i] = c
        }
        var b = SIMD16<Float>(), w = SIMD16<Float>()
        for j in 0..<16 {
            b[j] = SpectralVADModel.hiddenBias[j]
            w[j] = SpectralVADModel.outputWeights[j]
        }
        b1 = b
        w2 = w
    }

    deinit { columns.deallocate() }

    /// Speech probability of one hop's features.
    @inline(__always)
    func probability(_ x: UnsafePointer<Float>) -> Float {
        var z = b1
        for i in 0..<inputs { z += columns[i] * x[i] }
        let t = w2 * VADMath.fastTanh(z)
        let half = t.lowHalf + t.highHalf
        let quarter = half.lowHalf + half.highHalf
        let logit = b2 + ((quarter[0] + quarter[1]) + (quarter[2] + quarter[3]))
        return 1 / (1 + exp(-logit))
    }
}
