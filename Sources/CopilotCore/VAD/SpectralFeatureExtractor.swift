import Foundation

/// Per-hop features of the default detector, computed incrementally (streaming).
///
/// Each call consumes one 10 ms hop and writes `SpectralVADParameters.featureCount` values:
///
/// | index | feature |
/// |---|---|
/// | 0 | mean sub-band SNR (band log-energy minus its noise floor, natural-log units, clamped) |
/// | 1 | maximum sub-band SNR |
/// | 2 | mean SNR of bands 2 ... 9 (about 190 Hz to 2.3 kHz, where voiced speech is) |
/// | 3 | SNR of the total power against its own floor |
/// | 4 | spectral flatness over bands 1 ... 14 (log geometric minus log arithmetic mean, <= 0) |
/// | 5 | spectral entropy of the band energies, normalized to [0, 1] |
/// | 6 | standard deviation of the sub-band SNRs |
/// | 7 | zero-crossing rate of the hop |
/// | 8 | absolute level: log mean power, clamped to [-23, 0] |
/// | 9, 10, 11 | feature 0 smoothed over about 20, 60 and 250 ms (exponential, weights 0.5, 0.15, 0.04) |
/// | 12 | change of feature 0 since the previous hop |
/// | 13 | feature 4 smoothed (0.15) |
/// | 14, 15 | feature 6 smoothed (0.15, and 0.04: long-term spectral variability) |
/// | 16 | feature 3 smoothed (0.15) |
/// | 17 ... 32 | the 16 sub-band SNRs |
///
/// Noise floors: per band (and for the total), the band log-energy is smoothed (weight 0.3)
/// and the floor is the minimum of the smoothed value over the current sub-window of 20 hops
/// and the 8 before it (minimum statistics, about 1.6 s), so the floor follows a rising
/// background within 2 s and a falling one at once.
///
/// O(1) per hop (one 256-point real FFT and a few hundred operations), no allocation.
package final class SpectralFeatureExtractor {
    typealias P = SpectralVADParameters
    private static let tracks = P.bandCount + 1

    private let fft = RealFFT256()
    private let history: UnsafeMutablePointer<Float>
    private let windowed: UnsafeMutablePointer<Float>
    private let hann: UnsafeMutablePointer<Float>
    private let power: UnsafeMutablePointer<Float>
    private let signs: UnsafeMutablePointer<Int32>
    private let bandLinear: UnsafeMutablePointer<Float>
    private let bandLog: UnsafeMutablePointer<Float>
    private let snr: UnsafeMutablePointer<Float>
    private let edges: UnsafeMutablePointer<Int>
    private let invWidth: UnsafeMutablePointer<Float>
    private let smoothed: UnsafeMutablePointer<Float>
    private let currentMin: UnsafeMutablePointer<Float>
    private let pastMin: UnsafeMutablePointer<Float>
    private let ringMin: UnsafeMutablePointer<Float>
    private var hopsInSubwindow = 0
    private var ringPosition = 0
    private var ringFilled = 0
    private var started = false
    private var ema: (f0a: Float, f0b: Float, f0c: Float, prevF0: Float, f4: Float, f6a: Float, f6b: Float, f3: Float) =
        (0, 0, 0, 0, 0, 0, 0, 0)

    /// A fresh extractor (silence before the first hop).
    package init() {
        let w = P.windowSamples
        history = .allocate(capacity: w)
        windowed = .allocate(capacity: w)
        hann = .allocate(capacity: w)
        power = .allocate(capacity: RealFFT256.bins)
        signs = .allocate(capacity: P.hopSamples)
        bandLinear = .allocate(capacity: P.bandCount)
        bandLog = .allocate(capacity: P.bandCount)
        snr = .allocate(capacity: P.bandCount)
        edges = .allocate(capacity: P.bandCount + 1)
        invWidth = .allocate(capacity: P.bandCount)
        smoothed = .allocate(capacity: Self.tracks)
        currentMin = .allocate(capacity: Self.tracks)
        pastMin = .allocate(capacity: Self.tracks * P.minimumSubwindows)
        ringMin = .allocate(capacity: Self.tracks)
        for n in 0..<w {
            hann[n] = Float(0.5 - 0.5 * cos(2 * Double.pi * Double(n) / Double(w)))
        }
        for b in 0...P.bandCount { edges[b] = P.bandEdges[b] }
        for b in 0..<P.bandCount { invWidth[b] = 1 / Float(P.bandEdges[b + 1] - P.bandEdges[b]) }
        reset()
    }

    deinit {
        for p in [history, windowed, hann, power, bandLinear, bandLog, snr, invWidth, smoothed, currentMin, pastMin, ringMin] {
            p.deallocate()
        }
        edges.deallocate()
        signs.deallocate()
    }

    /// Forgets the history, floors and smoothing.
    package func reset() {
        history.update(repeating: 0, count: P.windowSamples)
        for t in 0..<Self.tracks {
            currentMin[t] = .infinity
            ringMin[t] = .infinity
        }
        hopsInSubwindow = 0
        ringPosition = 0
        ringFilled = 0
        started = false
        ema = (0, 0, 0, 0, 0, 0, 0, 0)
    }

    /// Consumes the 160 samples at `hop` and writes the features into `features`
    /// (`SpectralVADParameters.featureCount` values).
    package func process(hop: UnsafePointer<Float>, features f: UnsafeMutablePointer<Float>) {
        let w = P.windowSamples, h = P.hopSamples, keep = w - h
        history.update(from: history + h, count: keep)
        // Clamp (NaN -> +1) eight samples at a time; mark non-negative samples for the
        // zero-crossing count.
        let dst = history + keep
        var i = 0
        while i + 8 <= h {
            let v = UnsafeRawPointer(hop + i).loadUnaligned(as: SIMD8<Float>.self)
            let c = VADMath.sanitize(v)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: c, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(signs + i).storeBytes(of: SIMD8<Int32>(repeating: 0).replacing(with: 1, where: c .>= 0), as: SIMD8<Int32>.self)
            i += 8
        }
        var crossings: Int32 = 0
        for i in 1..<h { crossings &+= signs[i] ^ signs[i - 1] }
        for n in 0..<w { windowed[n] = history[n] * hann[n] }
        fft.power(windowed, into: power)

        var total: Float = 0
        var bandSum: Float = 0
        for b in 0..<P.bandCount {
            var s: Float = 0
            for k in edges[b]..<edges[b + 1] { s += power[k] }
            total += s
            let lin = s * invWidth[b] + P.powerFloor
            bandLinear[b] = lin
            bandLog[b] = VADMath.fastLog(lin)
            bandSum += lin
        }
        let totalLog = VADMath.fastLog(total * (1 / 128) + P.powerFloor)

        // Minimum statistics over smoothed log-energies (track 16 is the total).
        let a = P.floorSmoothing
        for t in 0..<Self.tracks {
            let e = t < P.bandCount ? bandLog[t] : totalLog
            let s = started ? smoothed[t] + a * (e - smoothed[t]) : e
            smoothed[t] = s
            currentMin[t] = min(currentMin[t], s)
        }
        var sum: Float = 0, sumSquares: Float = 0, maximum: Float = -.infinity, core: Float = 0
        for b in 0..<P.bandCount {
            let floor = min(currentMin[b], ringMin[b])
            let v = min(max(bandLog[b] - floor, P.snrRange.lowerBound), P.snrRange.upperBound)
            snr[b] = v
            sum += v
            sumSquares += v * v
            maximum = max(maximum, v)
            if b >= 2 && b <= 9 { core += v }
        }
        let totalFloor = min(currentMin[P.bandCount], ringMin[P.bandCount])
        let totalSNR = min(max(totalLog - totalFloor, P.snrRange.lowerBound), P.snrRange.upperBound)
        hopsInSubwindow += 1
        if hopsInSubwindow == P.minimumSubwindowHops {
            hopsInSubwindow = 0
            let row = pastMin + ringPosition * Self.tracks
            for t in 0..<Self.tracks {
                row[t] = currentMin[t]
                currentMin[t] = .infinity
            }
            ringPosition = (ringPosition + 1) % P.minimumSubwindows
            ringFilled = min(ringFilled + 1, P.minimumSubwindows)
            for t in 0..<Self.tracks {
                var m = Float.infinity
                for r in 0..<ringFilled { m = min(m, pastMin[r * Self.tracks + t]) }
                ringMin[t] = m
            }
        }

        let n = Float(P.bandCount)
        let mean = sum / n
        let variance = max(sumSquares / n - mean * mean, 0)
        var logSum: Float = 0, linSum: Float = 0
        for b in 1...14 {
            logSum += bandLog[b]
            linSum += bandLinear[b]
        }
        let flatness = logSum / 14 - VADMath.fastLog(linSum / 14)
        let logBandSum = VADMath.fastLog(bandSum)
        var entropy: Float = 0
        let invBandSum = 1 / bandSum
        for b in 0..<P.bandCount {
            entropy -= bandLinear[b] * invBandSum * (bandLog[b] - logBandSum)
        }
        entropy *= 1 / VADMath.fastLog(n)
        let spread = variance.squareRoot()

        f[0] = mean
        f[1] = maximum
        f[2] = core / 8
        f[3] = totalSNR
        f[4] = flatness
        f[5] = entropy
        f[6] = spread
        f[7] = Float(crossings) / Float(h - 1)
        f[8] = min(max(totalLog, P.levelRange.lowerBound), P.levelRange.upperBound)
        if !started {
            ema = (mean, mean, mean, mean, flatness, spread, spread, totalSNR)
            started = true
        } else {
            ema.f0a += 0.5 * (mean - ema.f0a)
            ema.f0b += 0.15 * (mean - ema.f0b)
            ema.f0c += 0.04 * (mean - ema.f0c)
            ema.f4 += 0.15 * (flatness - ema.f4)
            ema.f6a += 0.15 * (spread - ema.f6a)
            ema.f6b += 0.04 * (spread - ema.f6b)
            ema.f3 += 0.15 * (totalSNR - ema.f3)
        }
        f[9] = ema.f0a
        f[10] = ema.f0b
        f[11] = ema.f0c
        f[12] = mean - ema.prevF0
        ema.prevF0 = mean
        f[13] = ema.f4
        f[14] = ema.f6a
        f[15] = ema.f6b
        f[16] = ema.f3
        for b in 0..<P.bandCount { f[17 + b] = snr[b] }
    }
}


/// Feature rows of a whole stream, hop by hop, for offline training (`copilot vad
/// --dump-features`, read by `benchmarks/vad_train.py`).
package final class SpectralFeatureStream {
    private let extractor = SpectralFeatureExtractor()
    private var pending = [Float](repeating: 0, count: SpectralVADParameters.hopSamples)
    private var pendingCount = 0
    private var row = [Float](repeating: 0, count: SpectralVADParameters.featureCount)

    /// A stream starting in silence.
    package init() {}

    /// Consumes samples; calls `emit` with each completed hop's features.
    package func feed(_ samples: UnsafeBufferPointer<Float>, emit: (UnsafeBufferPointer<Float>) throws -> Void) rethrows {
        let hop = SpectralVADParameters.hopSamples
        for x in samples {
            pending[pendingCount] = x
            pendingCount += 1
            if pendingCount == hop {
                pendingCount = 0
                pending.withUnsafeBufferPointer { p in
                    row.withUnsafeMutableBufferPointer { r in
                        // Both buffers have fixed non-zero sizes.
                        if let h = p.baseAddress, let f = r.baseAddress { extractor.process(hop: h, features: f) }
                    }
                }
                try row.withUnsafeBufferPointer { try emit($0) }
            }
        }
    }
}
