import CopilotCore
import Foundation

/// The default detector written as plainly as possible, the way a numpy prototype would:
/// ``ReferenceFFT`` of the Hann-windowed history (numpy's `rfft`), array-of-Double state, one
/// feature at a time, the network as nested loops. Same parameters, same model, same decision
/// rule as `SpectralVoiceDetector`; it differs only by rounding (Double here, Float there),
/// so the two agree frame for frame except within rounding of the threshold.
public final class ReferenceSpectralDetector: VoiceActivityDetecting {
    typealias P = SpectralVADParameters

    public let frameSamples: Int
    let threshold: Double
    let hangoverFrames: Int
    var hangoverLeft = 0

    var history = [Double](repeating: 0, count: P.windowSamples)
    var smoothed = [Double](repeating: 0, count: P.bandCount + 1)
    var currentMin = [Double](repeating: .infinity, count: P.bandCount + 1)
    var pastMins: [[Double]] = []
    var hopsInSubwindow = 0
    var started = false
    var emaF0a = 0.0, emaF0b = 0.0, emaF0c = 0.0, prevF0 = 0.0, emaF4 = 0.0, emaF6a = 0.0, emaF6b = 0.0, emaF3 = 0.0
    /// `numpy.hanning`-style periodic Hann window, rounded to float32 as the optimized one is.
    let window: [Double] = (0..<P.windowSamples).map {
        Double(Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(P.windowSamples))))
    }
    let fft = ReferenceFFT(size: P.windowSamples)

    /// Same arguments as `SpectralVoiceDetector.init`.
    public init(frameMs: Int = 30, aggressiveness: Int = SpectralVADParameters.defaultAggressiveness, threshold: Double? = nil) throws {
        guard [10, 20, 30].contains(frameMs) else { throw VADError.invalidFrameMs(frameMs) }
        guard (0...3).contains(aggressiveness) else { throw VADError.invalidAggressiveness(aggressiveness) }
        let setting = P.aggressivenessTable[aggressiveness]
        frameSamples = frameMs * 16
        self.threshold = Double(Float(threshold ?? setting.threshold))
        hangoverFrames = (setting.hangoverMs + frameMs - 1) / frameMs
    }

    public func reset() {
        history = [Double](repeating: 0, count: P.windowSamples)
        smoothed = [Double](repeating: 0, count: P.bandCount + 1)
        currentMin = [Double](repeating: .infinity, count: P.bandCount + 1)
        pastMins = []
        hopsInSubwindow = 0
        started = false
        hangoverLeft = 0
    }

    public func process(_ frame: UnsafeBufferPointer<Float>) -> VADDecision {
        var sum = 0.0
        let hops = frameSamples / P.hopSamples
        for h in 0..<hops {
            let hop = Array(frame[(h * P.hopSamples)..<((h + 1) * P.hopSamples)])
            sum += probability(of: features(hop))
        }
        let probability = sum / Double(hops)
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
        return VADDecision(probability: Float(probability), isSpeech: speech)
    }

    static func ln(_ x: Double) -> Double { Double(VADMath.fastLog(Float(x))) }

    /// The 33 features of one hop (see `SpectralFeatureExtractor`).
    func features(_ hop: [Float]) -> [Double] {
        let n = P.windowSamples
        let zcrPrevious = history[n - 1] >= 0
        history = Array(history[P.hopSamples...]) + hop.map { Double(VADMath.sanitize($0)) }
        var crossings = 0
        var previous = zcrPrevious
        for i in 0..<P.hopSamples {
            let positive = history[n - P.hopSamples + i] >= 0
            if i > 0 && positive != previous { crossings += 1 }
            previous = positive
        }
        let power = fft.powerSpectrum((0..<n).map { history[$0] * window[$0] })
        var linear = [Double](), logs = [Double]()
        var total = 0.0
        for b in 0..<P.bandCount {
            var s = 0.0
            for k in P.bandEdges[b]..<P.bandEdges[b + 1] { s += power[k] }
            total += s
            let lin = s / Double(P.bandEdges[b + 1] - P.bandEdges[b]) + Double(P.powerFloor)
            linear.append(lin)
            logs.append(Self.ln(lin))
        }
        let totalLog = Self.ln(total / 128 + Double(P.powerFloor))
        let a = Double(P.floorSmoothing)
        for t in 0...P.bandCount {
            let e = t < P.bandCount ? logs[t] : totalLog
            smoothed[t] = started ? smoothed[t] + a * (e - smoothed[t]) : e
            currentMin[t] = min(currentMin[t], smoothed[t])
        }
        func floor(_ t: Int) -> Double {
            var m = currentMin[t]
            for past in pastMins { m = min(m, past[t]) }
            return m
        }
        let lo = Double(P.snrRange.lowerBound), hi = Double(P.snrRange.upperBound)
        var snr = [Double]()
        for b in 0..<P.bandCount { snr.append(min(max(logs[b] - floor(b), lo), hi)) }
        let totalSNR = min(max(totalLog - floor(P.bandCount), lo), hi)
        hopsInSubwindow += 1
        if hopsInSubwindow == P.minimumSubwindowHops {
            hopsInSubwindow = 0
            pastMins.append(currentMin)
            if pastMins.count > P.minimumSubwindows { pastMins.removeFirst() }
            currentMin = [Double](repeating: .infinity, count: P.bandCount + 1)
        }
        let mean = snr.reduce(0, +) / Double(P.bandCount)
        let meanSquare = snr.map { $0 * $0 }.reduce(0, +) / Double(P.bandCount)
        let spread = max(meanSquare - mean * mean, 0).squareRoot()
        let flatness = logs[1...14].reduce(0, +) / 14 - Self.ln(linear[1...14].reduce(0, +) / 14)
        let bandSum = linear.reduce(0, +)
        var entropy = 0.0
        for b in 0..<P.bandCount { entropy -= linear[b] / bandSum * (logs[b] - Self.ln(bandSum)) }
        entropy /= Self.ln(Double(P.bandCount))
        if !started {
            (emaF0a, emaF0b, emaF0c, prevF0) = (mean, mean, mean, mean)
            (emaF4, emaF6a, emaF6b, emaF3) = (flatness, spread, spread, totalSNR)
            started = true
        } else {
            emaF0a += 0.5 * (mean - emaF0a)
            emaF0b += 0.15 * (mean - emaF0b)
            emaF0c += 0.04 * (mean - emaF0c)
            emaF4 += 0.15 * (flatness - emaF4)
            emaF6a += 0.15 * (spread - emaF6a)
            emaF6b += 0.04 * (spread - emaF6b)
            emaF3 += 0.15 * (totalSNR - emaF3)
        }
        let delta = mean - prevF0
        prevF0 = mean
        let level = min(max(totalLog, Double(P.levelRange.lowerBound)), Double(P.levelRange.upperBound))
        return [mean, snr.max() ?? 0, snr[2...9].reduce(0, +) / 8, totalSNR, flatness, entropy, spread,
                Double(crossings) / Double(P.hopSamples - 1), level,
                emaF0a, emaF0b, emaF0c, delta, emaF4, emaF6a, emaF6b, emaF3] + snr
    }

    /// The network: tanh hidden layer, logistic output.
    func probability(of x: [Double]) -> Double {
        let m = SpectralVADModel.self
        var logit = Double(m.outputBias)
        for j in 0..<m.hiddenCount {
            var z = Double(m.hiddenBias[j])
            for i in 0..<m.inputCount { z += Double(m.hiddenWeights[j * m.inputCount + i]) * x[i] }
            logit += Double(m.outputWeights[j]) * Double(VADMath.fastTanh(Float(z)))
        }
        return 1 / (1 + exp(-logit))
    }
}
