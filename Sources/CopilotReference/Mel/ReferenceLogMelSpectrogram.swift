import CopilotCore
import Foundation

/// The plain log-mel extractor: faster-whisper's numpy `FeatureExtractor` written as loops,
/// with ``ReferenceFFT`` where it calls `numpy.fft.rfft`, in double precision. The oracle for
/// ``LogMelSpectrogram``, its benchmark baseline and the `--impl reference` fallback.
///
/// - Complexity: O(frames * (400 * 18 + 80 * 201)): one frame's FFT plus the filter bank.
public struct ReferenceLogMelSpectrogram: MelExtracting {
    private let filters: [[Double]]
    private let window: [Double]
    private let fft = ReferenceFFT(size: WhisperMel.fftSize)

    /// Creates the extractor (filters, window and FFT tables).
    public init() {
        let n = WhisperMel.fftSize
        filters = Self.melFilters()
        // numpy.hanning(401)[:-1], then rounded to float32 as faster-whisper does.
        window = (0..<n).map { Double(Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n)))) }
    }

    public func logMelSpectrogram(_ samples: UnsafeBufferPointer<Float>) -> MelSpectrogram {
        let n = WhisperMel.fftSize
        let hop = WhisperMel.hopLength
        let melCount = WhisperMel.melCount

        // np.pad(waveform, (0, 160)), then np.pad(..., (200, 200), mode="reflect").
        var signal: [Double] = samples.map { Double(Self.sanitized($0)) }
        signal += [Double](repeating: 0, count: WhisperMel.trailingPaddingSamples)
        let length = signal.count
        var padded: [Double] = []
        for i in -(n / 2)..<(length + n / 2) {
            padded.append(signal[Self.reflect(i, length: length)])
        }

        // Every STFT frame but the last.
        let frameCount = (padded.count - n) / hop + 1 - 1
        let logSpec = logPower(padded: padded, frameCount: frameCount)

        var globalMax = -Double.infinity
        for row in logSpec { for v in row { globalMax = max(globalMax, v) } }
        var values: [Float] = []
        for mel in 0..<melCount {
            for frame in 0..<frameCount {
                let clamped = max(logSpec[mel][frame], globalMax - Double(WhisperMel.dynamicRange))
                values.append(Float((clamped + 4) / 4))
            }
        }
        return MelSpectrogram(melCount: melCount, frameCount: frameCount, values: values)
    }

    public func unclampedLogMel(padded: UnsafeBufferPointer<Float>, frameCount: Int) -> MelSpectrogram {
        let logSpec = logPower(padded: padded.map(Double.init), frameCount: frameCount)
        return MelSpectrogram(melCount: WhisperMel.melCount, frameCount: frameCount, values: logSpec.flatMap { $0.map(Float.init) })
    }

    /// log10 mel power of `frameCount` frames of `padded` (frame f at `f * 160`), per band.
    private func logPower(padded: [Double], frameCount: Int) -> [[Double]] {
        let n = WhisperMel.fftSize
        let hop = WhisperMel.hopLength
        let bins = WhisperMel.binCount
        let melCount = WhisperMel.melCount
        var logSpec = [[Double]](repeating: [Double](repeating: 0, count: frameCount), count: melCount)
        for frame in 0..<frameCount {
            let power = fft.powerSpectrum((0..<n).map { padded[frame * hop + $0] * window[$0] })
            for mel in 0..<melCount {
                var sum = 0.0
                for k in 0..<bins { sum += filters[mel][k] * power[k] }
                logSpec[mel][frame] = log10(max(sum, Double(WhisperMel.powerFloor)))
            }
        }
        return logSpec
    }

    /// librosa-style Slaney mel filters (`get_mel_filters` in faster-whisper), rounded to float.
    static func melFilters() -> [[Double]] {
        let melCount = WhisperMel.melCount
        let n = WhisperMel.fftSize
        let sampleRate = Double(WhisperMel.sampleRate)
        let fftFreqs = (0...(n / 2)).map { Double($0) * sampleRate / Double(n) }
        let maxMel = 45.245640471924965
        var freqs: [Double] = []
        for i in 0..<(melCount + 2) {
            let mel = i == melCount + 1 ? maxMel : Double(i) * (maxMel / Double(melCount + 1))
            let fSp = 200.0 / 3
            let minLogMel = 1000.0 / fSp
            if mel >= minLogMel {
                freqs.append(1000.0 * exp(log(6.4) / 27.0 * (mel - minLogMel)))
            } else {
                freqs.append(fSp * mel)
            }
        }
        var filters: [[Double]] = []
        for mel in 0..<melCount {
            var row: [Double] = []
            for f in fftFreqs {
                let lower = (f - freqs[mel]) / (freqs[mel + 1] - freqs[mel])
                let upper = (freqs[mel + 2] - f) / (freqs[mel + 2] - freqs[mel + 1])
                let weight = max(0, min(lower, upper)) * (2.0 / (freqs[mel + 2] - freqs[mel]))
                row.append(Double(Float(weight)))
            }
            filters.append(row)
        }
        return filters
    }

    /// numpy's repeated `reflect` padding index.
    static func reflect(_ index: Int, length: Int) -> Int {
        var i = index
        while i < 0 || i >= length {
            if length == 1 { return 0 }
            if i < 0 { i = -i }
            if i >= length { i = 2 * (length - 1) - i }
        }
        return i
    }

    /// NaN as 0, infinities as +-1 (clipping), as the protocol requires.
    static func sanitized(_ x: Float) -> Float {
        if x.isNaN { return 0 }
        if x.isInfinite { return x > 0 ? 1 : -1 }
        return x
    }
}
