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
    private let filters: MelFilterBank
    /// The periodic Hann window, `0.5 - 0.5 cos(2 pi n / 400)`, rounded to float like numpy's.
    private let window: [Float]
    /// `exp(-2 pi i k / 400)` for k in 0...200: the real-FFT split twiddles.
    private let splitRe: [Float]
    private let splitIm: [Float]

    /// Frames per SIMD batch.
    private static let lanes = MelLanes.scalarCount

    /// Creates an extractor; `threadCount` is clamped to 1...64.
    public init(threadCount: Int = 1) {
        self.threadCount = min(max(threadCount, 1), 64)
        let n = WhisperMel.fftSize
        // 200 = 4 * 2 * 5 * 5 always plans; the optional only guards other sizes.
        fft = BatchedComplexFFT(size: n / 2)!
        filters = MelFilterBank()
        window = (0..<n).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n))) }
        splitRe = (0...(n / 2)).map { Float(cos(-2 * Double.pi * Double($0) / Double(n))) }
        splitIm = (0...(n / 2)).map { Float(sin(-2 * Double.pi * Double($0) / Double(n))) }
    }

    public func logMelSpectrogram(_ samples: UnsafeBufferPointer<Float>) -> MelSpectrogram {
        let frameCount = WhisperMel.frameCount(sampleCount: samples.count)
        let padded = Self.paddedSignal(samples)
        var values = [Float](repeating: 0, count: WhisperMel.melCount * frameCount)
        let batches = (frameCount + Self.lanes - 1) / Self.lanes
        let chunks = min(threadCount, max(1, batches / 8))
        var chunkMax = [Float](repeating: -.infinity, count: chunks)
        padded.withUnsafeBufferPointer { signal in
            values.withUnsafeMutableBufferPointer { out in
                chunkMax.withUnsafeMutableBufferPointer { maxima in
                    let shared = SharedBuffers(
                        signal: signal.baseAddress!, out: out.baseAddress!, maxima: maxima.baseAddress!)
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
        }
        let floor = (chunkMax.max() ?? 0) - WhisperMel.dynamicRange
        values.withUnsafeMutableBufferPointer { out in
            for i in out.indices {
                out[i] = (max(out[i], floor) + 4) / 4
            }
        }
        return MelSpectrogram(melCount: WhisperMel.melCount, frameCount: frameCount, values: values)
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
        var runningMax = MelLanes(repeating: -.infinity)
        window.withUnsafeBufferPointer { window in
        splitRe.withUnsafeBufferPointer { splitRe in
        splitIm.withUnsafeBufferPointer { splitIm in
        filters.weights.withUnsafeBufferPointer { weights in
            for batch in batches {
                let firstFrame = batch * lanes
                // Gather: lane l holds frame firstFrame + l; lanes past the end repeat the last
                // frame, so they never change the maximum and are simply not stored.
                re.withMemoryRebound(to: Float.self, capacity: half * lanes) { reF in
                    im.withMemoryRebound(to: Float.self, capacity: half * lanes) { imF in
                        for lane in 0..<lanes {
                            let frame = min(firstFrame + lane, frameCount - 1)
                            let src = signal + frame * hop
                            for n in 0..<half {
                                reF[n * lanes + lane] = src[2 * n] * window[2 * n]
                                imF[n * lanes + lane] = src[2 * n + 1] * window[2 * n + 1]
                            }
                        }
                    }
                }
                fft.transform(re: re, im: im, scratchRe: scratchRe, scratchIm: scratchIm)
                // Real spectrum from the packed complex one: X[k] = E[k] + W^k O[k].
                for k in 0...half {
                    let zr = re[k % half], zi = im[k % half]
                    let cr = re[(half - k) % half], ci = im[(half - k) % half]
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
                    let first = filters.firstBin[mel], offset = filters.offset[mel]
                    for t in 0..<filters.binCount[mel] {
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
        }
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
