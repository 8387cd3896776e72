import Foundation

/// Eight interleaved frames: lane `l` of every vector belongs to frame `l` of a batch.
typealias MelLanes = SIMD8<Float>

/// A forward complex FFT of a size whose factors are 2, 3, 4 and 5, run on eight independent
/// signals at once (one per SIMD lane), in split real/imaginary form.
///
/// Stockham autosort (no bit reversal): each stage of radix `r` reads `data[j + q * n / r]`,
/// applies the stage's twiddles and an `r`-point DFT, and writes
/// `out[(j / s) * s * r + j % s + q * s]`, where `s` is the product of the earlier radices.
/// Twiddles are precomputed per stage in double precision.
///
/// - Complexity: O(n log n) per batch of eight signals; no allocation per call.
struct BatchedComplexFFT: Sendable {
    struct Stage: Sendable {
        let radix: Int
        /// Product of the earlier stages' radices.
        let span: Int
        /// `twiddleRe[k * (radix - 1) + q - 1]` = cos(-2 pi q k / (span * radix)), k < span.
        let twiddleRe: [Float]
        let twiddleIm: [Float]
    }

    let size: Int
    let stages: [Stage]

    /// Plans an FFT of `size` points; nil when `size` has a prime factor above 5.
    init?(size: Int) {
        guard size >= 1 else { return nil }
        var radices: [Int] = []
        var rest = size
        for radix in [4, 2, 3, 5] {
            while rest % radix == 0 {
                radices.append(radix)
                rest /= radix
            }
        }
        guard rest == 1 else { return nil }
        self.size = size
        var stages: [Stage] = []
        var span = 1
        for radix in radices {
            var re: [Float] = [], im: [Float] = []
            for k in 0..<span {
                for q in 1..<radix {
                    let angle = -2 * Double.pi * Double(q * k) / Double(span * radix)
                    re.append(Float(cos(angle)))
                    im.append(Float(sin(angle)))
                }
            }
            stages.append(Stage(radix: radix, span: span, twiddleRe: re, twiddleIm: im))
            span *= radix
        }
        self.stages = stages
    }

    /// Transforms `(re, im)` in place, using `(scratchRe, scratchIm)` (each `size` vectors).
    func transform(
        re: UnsafeMutablePointer<MelLanes>, im: UnsafeMutablePointer<MelLanes>,
        scratchRe: UnsafeMutablePointer<MelLanes>, scratchIm: UnsafeMutablePointer<MelLanes>
    ) {
        var srcRe = re, srcIm = im, dstRe = scratchRe, dstIm = scratchIm
        for stage in stages {
            stage.twiddleRe.withUnsafeBufferPointer { twRe in
                stage.twiddleIm.withUnsafeBufferPointer { twIm in
                    switch stage.radix {
                    case 2: radix2(stage.span, srcRe, srcIm, dstRe, dstIm, twRe.baseAddress!, twIm.baseAddress!)
                    case 3: radix3(stage.span, srcRe, srcIm, dstRe, dstIm, twRe.baseAddress!, twIm.baseAddress!)
                    case 4: radix4(stage.span, srcRe, srcIm, dstRe, dstIm, twRe.baseAddress!, twIm.baseAddress!)
                    default: radix5(stage.span, srcRe, srcIm, dstRe, dstIm, twRe.baseAddress!, twIm.baseAddress!)
                    }
                }
            }
            swap(&srcRe, &dstRe)
            swap(&srcIm, &dstIm)
        }
        if srcRe != re {
            re.update(from: srcRe, count: size)
            im.update(from: srcIm, count: size)
        }
    }

    // Each kernel: for j = b * span + k, inputs x[q] = src[j + q * size / radix] * w^(q k),
    // outputs dst[b * span * radix + k + q * span].

    @inline(__always)
    private func twiddled(
        _ re: UnsafeMutablePointer<MelLanes>, _ im: UnsafeMutablePointer<MelLanes>, _ index: Int,
        _ wr: Float, _ wi: Float
    ) -> (MelLanes, MelLanes) {
        let xr = re[index], xi = im[index]
        return (xr * wr - xi * wi, xr * wi + xi * wr)
    }

    private func radix2(
        _ span: Int, _ sRe: UnsafeMutablePointer<MelLanes>, _ sIm: UnsafeMutablePointer<MelLanes>,
        _ dRe: UnsafeMutablePointer<MelLanes>, _ dIm: UnsafeMutablePointer<MelLanes>,
        _ twRe: UnsafePointer<Float>, _ twIm: UnsafePointer<Float>
    ) {
        let half = size / 2
        for b in 0..<(half / span) {
            for k in 0..<span {
                let j = b * span + k
                let a0r = sRe[j], a0i = sIm[j]
                let (a1r, a1i) = twiddled(sRe, sIm, j + half, twRe[k], twIm[k])
                let d = b * span * 2 + k
                dRe[d] = a0r + a1r; dIm[d] = a0i + a1i
                dRe[d + span] = a0r - a1r; dIm[d + span] = a0i - a1i
            }
        }
    }

    private func radix3(
        _ span: Int, _ sRe: UnsafeMutablePointer<MelLanes>, _ sIm: UnsafeMutablePointer<MelLanes>,
        _ dRe: UnsafeMutablePointer<MelLanes>, _ dIm: UnsafeMutablePointer<MelLanes>,
        _ twRe: UnsafePointer<Float>, _ twIm: UnsafePointer<Float>
    ) {
        let third = size / 3
        let c: Float = -0.5
        let s = Float(-(3.0.squareRoot()) / 2)  // sin(-2 pi / 3)
        for b in 0..<(third / span) {
            for k in 0..<span {
                let j = b * span + k
                let a0r = sRe[j], a0i = sIm[j]
                let (a1r, a1i) = twiddled(sRe, sIm, j + third, twRe[2 * k], twIm[2 * k])
                let (a2r, a2i) = twiddled(sRe, sIm, j + 2 * third, twRe[2 * k + 1], twIm[2 * k + 1])
                let sr = a1r + a2r, si = a1i + a2i
                let dr = a1r - a2r, di = a1i - a2i
                let mr = a0r + c * sr, mi = a0i + c * si
                let d = b * span * 3 + k
                dRe[d] = a0r + sr; dIm[d] = a0i + si
                // y1 = m + i s d, y2 = m - i s d
                dRe[d + span] = mr - s * di; dIm[d + span] = mi + s * dr
                dRe[d + 2 * span] = mr + s * di; dIm[d + 2 * span] = mi - s * dr
            }
        }
    }

    private func radix4(
        _ span: Int, _ sRe: UnsafeMutablePointer<MelLanes>, _ sIm: UnsafeMutablePointer<MelLanes>,
        _ dRe: UnsafeMutablePointer<MelLanes>, _ dIm: UnsafeMutablePointer<MelLanes>,
        _ twRe: UnsafePointer<Float>, _ twIm: UnsafePointer<Float>
    ) {
        let quarter = size / 4
        for b in 0..<(quarter / span) {
            for k in 0..<span {
                let j = b * span + k
                let a0r = sRe[j], a0i = sIm[j]
                let (a1r, a1i) = twiddled(sRe, sIm, j + quarter, twRe[3 * k], twIm[3 * k])
                let (a2r, a2i) = twiddled(sRe, sIm, j + 2 * quarter, twRe[3 * k + 1], twIm[3 * k + 1])
                let (a3r, a3i) = twiddled(sRe, sIm, j + 3 * quarter, twRe[3 * k + 2], twIm[3 * k + 2])
                let t0r = a0r + a2r, t0i = a0i + a2i
                let t1r = a0r - a2r, t1i = a0i - a2i
                let t2r = a1r + a3r, t2i = a1i + a3i
                // -i * (a1 - a3)
                let t3r = a1i - a3i, t3i = a3r - a1r
                let d = b * span * 4 + k
                dRe[d] = t0r + t2r; dIm[d] = t0i + t2i
                dRe[d + span] = t1r + t3r; dIm[d + span] = t1i + t3i
                dRe[d + 2 * span] = t0r - t2r; dIm[d + 2 * span] = t0i - t2i
                dRe[d + 3 * span] = t1r - t3r; dIm[d + 3 * span] = t1i - t3i
            }
        }
    }

    private func radix5(
        _ span: Int, _ sRe: UnsafeMutablePointer<MelLanes>, _ sIm: UnsafeMutablePointer<MelLanes>,
        _ dRe: UnsafeMutablePointer<MelLanes>, _ dIm: UnsafeMutablePointer<MelLanes>,
        _ twRe: UnsafePointer<Float>, _ twIm: UnsafePointer<Float>
    ) {
        let fifth = size / 5
        let c1 = Float(cos(2 * Double.pi / 5)), c2 = Float(cos(4 * Double.pi / 5))
        let s1 = Float(sin(2 * Double.pi / 5)), s2 = Float(sin(4 * Double.pi / 5))
        for b in 0..<(fifth / span) {
            for k in 0..<span {
                let j = b * span + k
                let t = 4 * k
                let a0r = sRe[j], a0i = sIm[j]
                let (a1r, a1i) = twiddled(sRe, sIm, j + fifth, twRe[t], twIm[t])
                let (a2r, a2i) = twiddled(sRe, sIm, j + 2 * fifth, twRe[t + 1], twIm[t + 1])
                let (a3r, a3i) = twiddled(sRe, sIm, j + 3 * fifth, twRe[t + 2], twIm[t + 2])
                let (a4r, a4i) = twiddled(sRe, sIm, j + 4 * fifth, twRe[t + 3], twIm[t + 3])
                let b1r = a1r + a4r, b1i = a1i + a4i, d1r = a1r - a4r, d1i = a1i - a4i
                let b2r = a2r + a3r, b2i = a2i + a3i, d2r = a2r - a3r, d2i = a2i - a3i
                let r1r = a0r + c1 * b1r + c2 * b2r, r1i = a0i + c1 * b1i + c2 * b2i
                let r2r = a0r + c2 * b1r + c1 * b2r, r2i = a0i + c2 * b1i + c1 * b2i
                let i1r = s1 * d1r + s2 * d2r, i1i = s1 * d1i + s2 * d2i
                let i2r = s2 * d1r - s1 * d2r, i2i = s2 * d1i - s1 * d2i
                let d = b * span * 5 + k
                dRe[d] = a0r + b1r + b2r; dIm[d] = a0i + b1i + b2i
                // y1 = r1 - i i1, y4 = r1 + i i1, y2 = r2 - i i2, y3 = r2 + i i2
                dRe[d + span] = r1r + i1i; dIm[d + span] = r1i - i1r
                dRe[d + 4 * span] = r1r - i1i; dIm[d + 4 * span] = r1i + i1r
                dRe[d + 2 * span] = r2r + i2i; dIm[d + 2 * span] = r2i - i2r
                dRe[d + 3 * span] = r2r - i2i; dIm[d + 3 * span] = r2i + i2r
            }
        }
    }
}
