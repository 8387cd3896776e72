import Foundation

/// Whether an utterance is one voice, or several at once (babble).
///
/// The vowels of one talker are periodic: below 1 kHz, where a voice's first harmonics carry
/// most of its energy, a 32 ms frame correlates almost perfectly with itself one pitch period
/// later. Several talkers at once have several pitches, and the sum of their harmonics
/// repeats at none of them. The strength of an utterance's voicing is the median, over its
/// loud frames, of the best normalized correlation at a lag between 2.5 ms and 16.7 ms
/// (pitch 60-400 Hz), of the audio low-passed at 900 Hz (which also keeps most of broadband
/// noise out).
///
/// Measured on the live latency corpus's espeak-ng speech (benchmarks/RESULTS.md, live
/// section): 0.95-0.98 clean, 0.83 or more under white noise at 0 dB SNR, 0.86 or more under
/// six-talker babble at 10 dB, 0.73 or more at 5 dB; the finals Whisper wrote for six-talker
/// babble alone 0.47-0.76, those with a plausible speaking rate at most 0.67. Speech under
/// babble as loud as itself is not told apart from babble (0.57-0.64).
package enum Voicing {
    /// Below this strength a final is not printed: between the finals Whisper wrote for babble
    /// alone (at most 0.67) and one voice under babble 5 dB quieter (at least 0.73).
    package static let defaultMinimumStrength = 0.70

    /// A frame of 32 ms, one every 20 ms.
    static let frame = 256
    static let hop = 160
    /// Pitch periods from 400 Hz to 60 Hz, in samples at 8 kHz (the input's 16 kHz halved
    /// after the low-pass).
    static let lags = 20...133
    /// Frames quieter than this fraction of the loudest frame's energy are not voiced speech.
    static let loudFraction: Float = 0.1
    /// Fewer loud frames than this: too short to tell (a final of one short word passes).
    static let minimumFrames = 3

    /// The low-pass filter: a windowed sinc (Hamming, 127 taps) cutting at 900 Hz of 16 kHz.
    static let lowPass: [Float] = {
        let taps = 127, center = Double(taps - 1) / 2, cutoff = 900.0 / 16000.0
        var h = (0..<taps).map { i -> Double in
            let n = Double(i) - center
            let sinc = n == 0 ? 2 * cutoff : sin(2 * Double.pi * cutoff * n) / (Double.pi * n)
            return sinc * (0.54 - 0.46 * cos(2 * Double.pi * Double(i) / Double(taps - 1)))
        }
        let sum = h.reduce(0, +)
        for i in h.indices { h[i] /= sum }
        return h.map { Float($0) }
    }()

    /// The strength of `samples`' voicing (16 kHz mono), or nil when it has too few loud
    /// frames to tell.
    package static func strength(of samples: some Collection<Float>) -> Double? {
        let low = lowPassedAndHalved(samples)
        guard low.count >= frame else { return nil }
        var energies: [Float] = []
        var peaks: [Float] = []
        var centered = [Float](repeating: 0, count: frame)
        var start = 0
        while start + frame <= low.count {
            var mean: Float = 0
            for i in 0..<frame { mean += low[start + i] }
            mean /= Float(frame)
            var energy: Float = 0
            for i in 0..<frame {
                centered[i] = low[start + i] - mean
                energy += centered[i] * centered[i]
            }
            energies.append(energy)
            peaks.append(energy > 0 ? bestCorrelation(centered) : 0)
            start += hop
        }
        guard let loudest = energies.max(), loudest > 0 else { return nil }
        var loud = zip(energies, peaks).filter { $0.0 >= loudFraction * loudest }.map(\.1)
        guard loud.count >= minimumFrames else { return nil }
        loud.sort()
        let middle = loud.count / 2
        return Double(loud.count % 2 == 1 ? loud[middle] : (loud[middle - 1] + loud[middle]) / 2)
    }

    /// Whether `samples` may be printed as one voice: a strength of at least `minimum`, or
    /// too short to tell, or no check (`minimum` nil).
    package static func isOneVoice(_ samples: some Collection<Float>, minimum: Double?) -> Bool {
        guard let minimum, let strength = strength(of: samples) else { return true }
        return strength >= minimum
    }

    /// `samples` through ``lowPass``, every second output kept (16 kHz to 8 kHz).
    static func lowPassedAndHalved(_ input: some Collection<Float>) -> [Float] {
        let taps = lowPass.count
        let samples = Array(input)
        guard samples.count > taps else { return [] }
        var out = [Float](repeating: 0, count: (samples.count - taps) / 2 + 1)
        lowPass.withUnsafeBufferPointer { h in
            samples.withUnsafeBufferPointer { x in
                for n in out.indices { out[n] = BLAS.dot(h.baseAddress!, x.baseAddress! + 2 * n, count: taps) }
            }
        }
        return out
    }

    /// The highest normalized correlation of a centered frame with itself at a pitch lag:
    /// over the overlapping parts a (first N - lag) and b (last N - lag), a.b / sqrt(a.a b.b).
    static func bestCorrelation(_ f: [Float]) -> Float {
        // Running sums of squares give a.a and b.b for every lag without a pass each.
        var prefix = [Float](repeating: 0, count: f.count + 1)
        for i in f.indices { prefix[i + 1] = prefix[i] + f[i] * f[i] }
        let total = prefix[f.count]
        var best: Float = 0
        f.withUnsafeBufferPointer { x in
            for lag in lags {
                let n = f.count - lag
                let dot = BLAS.dot(x.baseAddress!, x.baseAddress! + lag, count: n)
                let aa = prefix[n], bb = total - prefix[lag]
                let norm = (aa * bb).squareRoot()
                if norm > 0, dot / norm > best { best = dot / norm }
            }
        }
        return best
    }
}
