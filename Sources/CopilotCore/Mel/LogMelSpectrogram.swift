import Dispatch
import Foundation

/// The fast log-mel extractor: eight frames at a time in SIMD lanes, a 400-point real FFT as a
/// 200-point mixed-radix complex FFT (4 x 2 x 5 x 5) plus a split step, a sparse mel filter
/// bank and a vectorised logarithm.
///
/// Matches faster-whisper's numpy `FeatureExtractor` (see ``WhisperMel``) within 1e-3 and
/// ``CopilotReference``'s naive DFT within 1e-4 on ordinary audio.
///
/// - Complexity: O(frames * (n log n + filter taps)); one allocation of the padded signal and
///   a few kilobytes of scratch per call, none per frame.
public struct LogMelSpectrogram: MelExtracting {
    /// Threads that share the frames of one call (1 = the calling thread only).
    public let threadCount: Int

    private let fft: BatchedComplexFFT
    private let tables: MelTables

    /// Frames per SIMD batch.
    private static let lanes = MelLanes.scalarCount

    /// Creates an extractor; `threadCount` is clamped to 1...64.
    public init(threadCount: Int = 1) {
        self.threadCount = min(max(threadCount, 1), 64)
        let n = WhisperMel.fftSize
        // 200 = 4 * 2 * 5 * 5 always plans; the optional only guards other sizes.
        fft = BatchedComplexFFT(size: n / 2)!
        tables = MelTables(filters: MelFilterBank(), fftSize: n)
    }

    public func logMelSpectrogram(_ samples: UnsafeBufferPointer<Float>) -> MelSpectrogram {
        let frameCount = WhisperMel.frameCount(sampleCount: samples.count)
        let padded = Self.paddedSignal(samples)
        var (values, maximum) = padded.withUnsafeBufferPointer { unclamped(padded: $0, frameCount: frameCount) }
        WhisperMel.clamp(&values, maximum: maximum)
        return MelSpectrogram(melCount: WhisperMel.melCount, frameCount: frameCount, values: values)
    }

    public func unclampedLogMel(padded: UnsafeBufferPointer<Float>, frameCount: Int) -> MelSpectrogram {
        MelSpectrogram(melCount: WhisperMel.melCount, frameCount: frameCount, values: unclamped(padded: padded, frameCount: frameCount).values)
    }

    /// Log10 mel power of `frameCount` frames of `padded`, mel-major, and the largest value.
    private func unclamped(padded: UnsafeBufferPointer<Float>, frameCount: Int) -> (values: [Float], maximum: Float) {
        precondition(frameCount == 0 || padded.count >= (frameCount - 1) * WhisperMel.hopLength + WhisperMel.fftSize,
                     "LogMelSpectrogram: the padded signal is shorter than its frames")
        var values = [Float](repeating: 0, count: WhisperMel.melCount * frameCount)
        guard frameCount > 0, let signal = padded.baseAddress else { return (values, -.infinity) }
        let batches = (frameCount + Self.lanes - 1) / Self.lanes
        let chunks = min(threadCount, max(1, batches / 8))
        var chunkMax = [Float](repeating: -.infinity, count: chunks)
        values.withUnsafeMutableBufferPointer { out in
            chunkMax.withUnsafeMutableBufferPointer { maxima in
                let shared = SharedBuffers(signal: signal, out: out.baseAddress!, maxima: maxima.baseAddress!)
                let work = { @Sendable (chunk: Int) in
                    let first = batches * chunk / chunks, last = batches * (chunk + 1) / chunks
                    shared.maxima[chunk] = self.logMel(
                        signal: shared.signal, frameCount: frameCount,
                        batches: first..<last, out: shared.out)
                }
                if chunks == 1 {
                    work(0)
                } else {
                    DispatchQueue.concurrentPerform(iterations: chunks, execute: work)
                }
            }
        }
        return (values, chunkMax.max() ?? 0)
    }

    /// Buffers the chunks of one call share; each chunk writes only its own frames and slot.
    private struct SharedBuffers: @unchecked Sendable {
        let signal: UnsafePointer<Float>
        let out: UnsafeMutablePointer<Float>
        let maxima: UnsafeMutablePointer<Float>
    }

    /// The signal with 160 trailing zeros, sanitised, reflect-padded by 200 on both sides.
    static func paddedSignal(_ samples: UnsafeBufferPointer<Float>) -> [Float] {
        let edge = WhisperMel.fftSize / 2
        let length = samples.count + WhisperMel.trailingPaddingSamples
        var padded = [Float](repeating: 0, count: length + 2 * edge)
        padded.withUnsafeMutableBufferPointer { p in
            for i in samples.indices { p[edge + i] = melSanitizedSample(samples[i]) }
            for i in 0..<edge {
                p[i] = p[edge + melReflectIndex(i - edge, length: length)]
                p[edge + length + i] = p[edge + melReflectIndex(length + i, length: length)]
            }
        }
        return padded
    }

    /// Log10 mel power (before the clamp) of the frames in `batches` (eight frames each),
    /// written mel-major into `out`; returns the largest value written.
    private func logMel(
        signal: UnsafePointer<Float>, frameCount: Int, batches: Range<Int>, out: UnsafeMutablePointer<Float>
    ) -> Float {
        let half = WhisperMel.fftSize / 2
        let bins = WhisperMel.binCount
        let lanes = Self.lanes
        let hop = WhisperMel.hopLength
        let re = UnsafeMutablePointer<MelLanes>.allocate(capacity: half)
        let im = UnsafeMutablePointer<MelLanes>.allocate(capacity: half)
        let scratchRe = UnsafeMutablePointer<MelLanes>.allocate(capacity: half)
        let scratchIm = UnsafeMutablePointer<MelLanes>.allocate(capacity: half)
        let power = UnsafeMutablePointer<MelLanes>.allocate(capacity: bins)
        defer {
            re.deallocate(); im.deallocate(); scratchRe.deallocate(); scratchIm.deallocate(); power.deallocate()
        }
        let window = tables.window, splitRe = tables.splitRe, splitIm = tables.splitIm
        let weights = tables.weights, firstBins = tables.firstBin, binCounts = tables.binCount
        let offsets = tables.offset
        var runningMax = MelLanes(repeating: -.infinity)
        for batch in batches {
            let firstFrame = batch * lanes
            // Gather: lane l holds frame firstFrame + l; lanes past the end repeat the last
            // frame, so they never change the maximum and are simply not stored. Even samples
            // go to the real part, odd ones to the imaginary part (the packed real FFT).
            let last = frameCount - 1
            let s0 = signal + min(firstFrame, last) * hop, s1 = signal + min(firstFrame + 1, last) * hop
            let s2 = signal + min(firstFrame + 2, last) * hop, s3 = signal + min(firstFrame + 3, last) * hop
            let s4 = signal + min(firstFrame + 4, last) * hop, s5 = signal + min(firstFrame + 5, last) * hop
            let s6 = signal + min(firstFrame + 6, last) * hop, s7 = signal + min(firstFrame + 7, last) * hop
            for n in 0..<half {
                let e = 2 * n, o = 2 * n + 1
                re[n] = MelLanes(s0[e], s1[e], s2[e], s3[e], s4[e], s5[e], s6[e], s7[e]) * window[e]
                im[n] = MelLanes(s0[o], s1[o], s2[o], s3[o], s4[o], s5[o], s6[o], s7[o]) * window[o]
            }
            fft.transform(re: re, im: im, scratchRe: scratchRe, scratchIm: scratchIm)
            // Real spectrum from the packed complex one: X[k] = E[k] + W^k O[k], where
            // E = (Z[k] + conj Z[n-k]) / 2 and O = -i (Z[k] - conj Z[n-k]) / 2; k = 0 and
            // k = n/2 both pair Z[0] with itself.
            for k in 0...half {
                let a = k == half ? 0 : k
                let b = k == 0 ? 0 : half - k
                let zr = re[a], zi = im[a]
                let cr = re[b], ci = im[b]
                let er = (zr + cr) * 0.5, ei = (zi - ci) * 0.5
                let or = (zi + ci) * 0.5, oi = (cr - zr) * 0.5
                let wr = splitRe[k], wi = splitIm[k]
                let xr = er + (or * wr - oi * wi)
                let xi = ei + (or * wi + oi * wr)
                power[k] = xr * xr + xi * xi
            }
            let valid = min(lanes, frameCount - firstFrame)
            for mel in 0..<WhisperMel.melCount {
                var acc = MelLanes(repeating: 0)
                let first = firstBins[mel], offset = offsets[mel]
                for t in 0..<binCounts[mel] {
                    acc += weights[offset + t] * power[first + t]
                }
                let logValue = Self.log10(acc.replacing(with: WhisperMel.powerFloor, where: .!(acc .>= WhisperMel.powerFloor)))
                runningMax = pointwiseMax(runningMax, logValue)
                let dst = out + mel * frameCount + firstFrame
                if valid == lanes {
                    UnsafeMutableRawPointer(dst).storeBytes(of: logValue, as: MelLanes.self)
                } else {
                    for lane in 0..<valid { dst[lane] = logValue[lane] }
                }
            }
        }
        return runningMax.max()
    }

    /// log10 of positive normal floats, to about 1e-7: x = 2^e * m with m in [sqrt(1/2),
    /// sqrt(2)), ln m = 2 atanh((m - 1) / (m + 1)) by its odd series.
    @inline(__always)
    static func log10(_ x: MelLanes) -> MelLanes {
        let sqrtHalfBits: Int32 = 0x3F35_04F3
        let bits = unsafeBitCast(x, to: SIMD8<Int32>.self)
        let offset = bits &- sqrtHalfBits
        let exponent = offset &>> 23
        let m = unsafeBitCast((offset & 0x007F_FFFF) &+ sqrtHalfBits, to: MelLanes.self)
        let t = (m - 1) / (m + 1)
        let t2 = t * t
        let c3: Float = 1.0 / 3, c5: Float = 1.0 / 5, c7: Float = 1.0 / 7, c9: Float = 1.0 / 9
        var series = t2 * c9 + c7
        series = series * t2 + c5
        series = series * t2 + c3
        series = series * t2 + 1
        let lnM = (t + t) * series
        let log10Of2: Float = 0.301_029_995_663_981_2
        let log10OfE: Float = 0.434_294_481_903_251_8
        return MelLanes(exponent) * log10Of2 + lnM * log10OfE
    }
}

/// The extractor's constant tables in plain memory, so the per-frame loop reads them through
/// pointers without bounds checks or nested buffer closures. Written once in `init`, read-only
/// afterwards (hence safe to share between threads).
private final class MelTables: @unchecked Sendable {
    /// The periodic Hann window, `0.5 - 0.5 cos(2 pi n / 400)`, rounded to float like numpy's.
    let window: UnsafeMutablePointer<Float>
    /// `exp(-2 pi i k / 400)` for k in 0...200: the real-FFT split twiddles.
    let splitRe: UnsafeMutablePointer<Float>
    let splitIm: UnsafeMutablePointer<Float>
    /// The sparse mel filter bank (see ``MelFilterBank``).
    let weights: UnsafeMutablePointer<Float>
    let firstBin: UnsafeMutablePointer<Int>
    let binCount: UnsafeMutablePointer<Int>
    let offset: UnsafeMutablePointer<Int>

    init(filters: MelFilterBank, fftSize n: Int) {
        func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
            p.initialize(from: values, count: values.count)
            return p
        }
        window = copy((0..<n).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n))) })
        splitRe = copy((0...(n / 2)).map { Float(cos(-2 * Double.pi * Double($0) / Double(n))) })
        splitIm = copy((0...(n / 2)).map { Float(sin(-2 * Double.pi * Double($0) / Double(n))) })
        weights = copy(filters.weights)
        firstBin = copy(filters.firstBin)
        binCount = copy(filters.binCount)
        offset = copy(filters.offset)
    }

    deinit {
        for p in [window, splitRe, splitIm, weights] { p.deallocate() }
        for p in [firstBin, binCount, offset] { p.deallocate() }
    }
}
