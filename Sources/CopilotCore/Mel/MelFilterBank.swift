import Foundation

/// The 80 Slaney-style mel filters over the 201 bins of a 400-point FFT at 16 kHz, stored
/// sparsely: each filter is a short run of consecutive bins.
///
/// The weights are computed in double precision and rounded to float, as faster-whisper does
/// (librosa's `filters.mel` defaults: Slaney mel scale, area normalisation, 0 to 8 kHz).
struct MelFilterBank: Sendable {
    /// First nonzero bin of each filter.
    let firstBin: [Int]
    /// Number of bins of each filter (may be 0 for degenerate filters).
    let binCount: [Int]
    /// Offset of each filter's weights in `weights`.
    let offset: [Int]
    /// All filters' weights, back to back.
    let weights: [Float]

    init(melCount: Int = WhisperMel.melCount, fftSize: Int = WhisperMel.fftSize, sampleRate: Int = WhisperMel.sampleRate) {
        let dense = MelFilterBank.denseWeights(melCount: melCount, fftSize: fftSize, sampleRate: sampleRate)
        let bins = fftSize / 2 + 1
        var firstBin: [Int] = [], binCount: [Int] = [], offset: [Int] = [], weights: [Float] = []
        for mel in 0..<melCount {
            let row = dense[(mel * bins)..<((mel + 1) * bins)]
            let nonzero = row.indices.filter { row[$0] != 0 }
            let first = nonzero.first ?? row.startIndex
            let last = nonzero.last ?? (row.startIndex - 1)
            firstBin.append(first - row.startIndex)
            binCount.append(max(0, last - first + 1))
            offset.append(weights.count)
            if last >= first { weights.append(contentsOf: row[first...last]) }
        }
        self.firstBin = firstBin
        self.binCount = binCount
        self.offset = offset
        self.weights = weights
    }

    /// The dense `[melCount, fftSize / 2 + 1]` weights, row-major, rounded to float.
    static func denseWeights(melCount: Int, fftSize: Int, sampleRate: Int) -> [Float] {
        let bins = fftSize / 2 + 1
        let fSp = 200.0 / 3
        let minLogHz = 1000.0
        let minLogMel = minLogHz / fSp
        let logStep = log(6.4) / 27.0
        let maxMel = 45.245640471924965  // the Slaney mel of 8 kHz, as faster-whisper hard-codes it
        let edgeCount = melCount + 2
        let freqs: [Double] = (0..<edgeCount).map { i in
            // numpy.linspace: start + i * step, the last point exactly the stop value.
            let mel = i == edgeCount - 1 ? maxMel : Double(i) * (maxMel / Double(edgeCount - 1))
            return mel >= minLogMel ? minLogHz * exp(logStep * (mel - minLogMel)) : fSp * mel
        }
        var weights = [Float](repeating: 0, count: melCount * bins)
        for mel in 0..<melCount {
            let enorm = 2.0 / (freqs[mel + 2] - freqs[mel])
            for bin in 0..<bins {
                let fft = Double(bin) * Double(sampleRate) / Double(fftSize)
                let lower = -(freqs[mel] - fft) / (freqs[mel + 1] - freqs[mel])
                let upper = (freqs[mel + 2] - fft) / (freqs[mel + 2] - freqs[mel + 1])
                weights[mel * bins + bin] = Float(max(0, min(lower, upper)) * enorm)
            }
        }
        return weights
    }
}
