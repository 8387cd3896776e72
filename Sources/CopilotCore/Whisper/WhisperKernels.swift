#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// Row-wise building blocks of the optimized encoder and decoder, on raw row-major buffers.
/// Each splits its rows over `threads` workers; none allocates.
package enum WhisperKernels {
    /// LayerNorm epsilon used by Whisper.
    static let layerNormEpsilon: Float = 1e-5

    /// Runs `body(rowRange)` over `rows` split into about `threads` contiguous chunks.
    @inline(__always)
    static func parallelRows(_ rows: Int, threads: Int, minimumRowsPerChunk: Int = 16, _ body: (Range<Int>) -> Void) {
        let chunks = max(1, min(threads, rows / max(1, minimumRowsPerChunk)))
        if chunks == 1 {
            body(0..<rows)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            // The workers only read shared inputs and write disjoint row ranges.
            let work = UncheckedSendableBox(escapable)
            SpinningWorkers.shared.perform(iterations: chunks, threads: chunks) { c in
                let start = rows * c / chunks
                let end = rows * (c + 1) / chunks
                work.value(start..<end)
            }
        }
    }

    /// out[r] = LayerNorm(x[r]) * gamma + beta for `rows` rows of `width` (in place allowed).
    static func layerNorm(
        _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, width: Int,
        _ norm: WhisperLayerNorm, threads: Int
    ) {
        norm.gamma.withUnsafeBufferPointer { g in
            norm.beta.withUnsafeBufferPointer { b in
                parallelRows(rows, threads: threads, minimumRowsPerChunk: 64) { range in
                    for r in range {
                        let row = x + r * width
                        var sum: Float = 0
                        for i in 0..<width { sum += row[i] }
                        let mean = sum / Float(width)
                        var squares: Float = 0
                        for i in 0..<width {
                            let c = row[i] - mean
                            squares += c * c
                        }
                        let inv = 1 / (squares / Float(width) + layerNormEpsilon).squareRoot()
                        let o = out + r * width
                        for i in 0..<width { o[i] = (row[i] - mean) * inv * g[i] + b[i] }
                    }
                }
            }
        }
    }

    /// x[r] += bias for `rows` rows of `width`.
    static func addBias(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, _ bias: [Float]) {
        bias.withUnsafeBufferPointer { b in
            for r in 0..<rows {
                let row = x + r * width
                for i in 0..<width { row[i] += b[i] }
            }
        }
    }

    /// GELU with erf, 0.5 x (1 + erf(x / sqrt 2)), in place on `count` values (see
    /// ``erf8(_:)`` for the accuracy).
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        parallelRows(count, threads: threads, minimumRowsPerChunk: 1 << 14) { range in
            geluRange(x, range, bias: nil, width: 1)
        }
    }

    /// Bias add then GELU, in place, `rows` rows of `width`.
    static func addBiasGELU(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, _ bias: [Float], threads: Int) {
        bias.withUnsafeBufferPointer { b in
            parallelRows(rows, threads: threads) { range in
                for r in range {
                    geluRange(x + r * width, 0..<width, bias: b.baseAddress!, width: width)
                }
            }
        }
    }

    /// GELU of x[range] (after adding bias[i] when given). Debug builds (the test suite) take
    /// the scalar libm path, because unoptimized SIMD code is ~50x slower; the vector path is
    /// tested against it directly.
    @inline(__always)
    static func geluRange(_ x: UnsafeMutablePointer<Float>, _ range: Range<Int>, bias: UnsafePointer<Float>?, width: Int) {
        #if DEBUG
        geluScalar(x, range, bias: bias)
        #else
        geluVector(x, range, bias: bias)
        #endif
    }

    /// GELU with libm's erff, one value at a time.
    package static func geluScalar(_ x: UnsafeMutablePointer<Float>, _ range: Range<Int>, bias: UnsafePointer<Float>?) {
        for i in range {
            let v = x[i] + (bias?[i] ?? 0)
            x[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752))
        }
    }

    /// GELU eight lanes at a time with ``erf8(_:)``.
    @inline(__always)
    package static func geluVector(_ x: UnsafeMutablePointer<Float>, _ range: Range<Int>, bias: UnsafePointer<Float>?) {
        var i = range.lowerBound
        let raw = UnsafeMutableRawPointer(x)
        while i + 8 <= range.upperBound {
            var v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            if let bias { v += UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) }
            raw.storeBytes(of: 0.5 * v * (1 + erf8(v * 0.70710678118654752)), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < range.upperBound {
            let v = x[i] + (bias?[i] ?? 0)
            x[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752))
            i += 1
        }
    }

    /// erf of eight values: x P(x^2) / Q(x^2) on x clamped to [-4, 4] (a rational fit used by
    /// vectorised math libraries); absolute error below 5e-7 over the whole line, a few float
    /// ulps, the accuracy of libm's erff rather than GELU's tanh approximation.
    @inline(__always)
    package static func erf8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Clamp with masks: the generic pointwiseMin/Max behind clamped() are not inlined.
        var c = x.replacing(with: -4, where: x .< -4)
        c.replace(with: 4, where: c .> 4)
        let x2 = c * c
        var p = SIMD8<Float>(repeating: -2.72614225801306e-10)
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 - 2.10102402082508e-06
        p = p * x2 - 5.69250639462346e-05
        p = p * x2 - 7.34990630326855e-04
        p = p * x2 - 2.95459980854025e-03
        p = p * x2 - 1.60960333262415e-02
        var q = SIMD8<Float>(repeating: -1.45660718464996e-05)
        q = q * x2 - 2.13374055278905e-04
        q = q * x2 - 1.68282697438203e-03
        q = q * x2 - 7.37332916720468e-03
        q = q * x2 - 1.42647390514189e-02
        return c * p / q
    }

    /// e^x for eight values (Cephes' expf: ln 2 range reduction, degree-6 polynomial, exponent
    /// bits for 2^n), within 2 ulp; 0 below -87.3 (and for -infinity).
    @inline(__always)
    package static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var clamped = x.replacing(with: -87.3, where: x .< -87.3)
        clamped.replace(with: 88.3, where: clamped .> 88.3)
        // n = round(x / ln 2) through the 1.5 * 2^23 trick, which leaves n in the low bits.
        let shifted = clamped * 1.44269504088896341 + 12582912.0
        let n = shifted - 12582912.0
        let r = clamped - n * 0.693359375 + n * 2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * r * r + r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
        var result = y * scale
        result.replace(with: 0, where: x .< -87.3)
        return result
    }

    /// Softmax of each of `rows` rows of `width` (stride `stride`), in place; only the first
    /// `valid(r)` entries of row r take part, the rest become 0 (causal masking).
    static func softmaxRows(
        _ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, stride: Int, threads: Int,
        valid: (Int) -> Int = { _ in Int.max }
    ) {
        parallelRows(rows, threads: threads) { range in
            for r in range {
                softmax(x + r * stride, count: min(width, valid(r)))
                for i in min(width, valid(r))..<width { x[r * stride + i] = 0 }
            }
        }
    }

    /// Softmax of `count` values in place (scalar libm path in debug builds, as for GELU).
    @inline(__always)
    static func softmax(_ row: UnsafeMutablePointer<Float>, count n: Int) {
        #if DEBUG
        softmaxScalar(row, count: n)
        #else
        softmaxVector(row, count: n)
        #endif
    }

    /// Softmax with libm's expf, one value at a time.
    package static func softmaxScalar(_ row: UnsafeMutablePointer<Float>, count n: Int) {
        var maximum = -Float.infinity
        for i in 0..<n where row[i] > maximum { maximum = row[i] }
        var sum: Float = 0
        for i in 0..<n {
            row[i] = expf(row[i] - maximum)
            sum += row[i]
        }
        let inv = 1 / sum
        for i in 0..<n { row[i] *= inv }
    }

    /// Softmax eight lanes at a time with ``exp8(_:)``.
    @inline(__always)
    package static func softmaxVector(_ row: UnsafeMutablePointer<Float>, count n: Int) {
        let raw = UnsafeMutableRawPointer(row)
        var i = 0
        var maxima = SIMD8<Float>(repeating: -.infinity)
        while i + 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            maxima.replace(with: v, where: v .> maxima)
            i += 8
        }
        var maximum = maxima.max()
        while i < n {
            maximum = max(maximum, row[i])
            i += 1
        }
        var sums = SIMD8<Float>()
        i = 0
        while i + 8 <= n {
            let e = exp8(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) - maximum)
            raw.storeBytes(of: e, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            sums += e
            i += 8
        }
        var sum = sums.sum()
        while i < n {
            let e = expf(row[i] - maximum)
            row[i] = e
            sum += e
            i += 1
        }
        let inv = 1 / sum
        for j in 0..<n { row[j] *= inv }
    }

    /// Up to this many rows, ``linear(_:rows:_:_:accumulate:threads:)`` and the decoder's
    /// cross-attention read each weight row once for all rows instead of calling sgemm (the
    /// samples or beams of a batched decoder step).
    static let smallBatchRows = 16

    /// y[rows x out] = x[rows x in] W^T + b through BLAS (`accumulate`: y += instead of =).
    static func linear(
        _ x: UnsafePointer<Float>, rows: Int, _ layer: WhisperLinear, _ y: UnsafeMutablePointer<Float>,
        accumulate: Bool = false, threads: Int = 1
    ) {
        layer.weight.withUnsafeBufferPointer { w in
            if rows > 1 && rows <= smallBatchRows && HalfKernels.isAvailable {
                // A few sequences' rows (a batched decoder step): each weight row read once for
                // all of them; sgemm would pack the whole weight matrix at every call.
                let work = UncheckedSendableBox((w.baseAddress!, x, y))
                parallelRows(layer.outCount, threads: threads, minimumRowsPerChunk: 64) { range in
                    let (w, x, y) = work.value
                    HalfKernels.rowsDotVectors(
                        w + range.lowerBound * layer.inCount, rowCount: range.count, width: layer.inCount, rowStride: layer.inCount,
                        xs: x, count: rows, xStride: layer.inCount, into: y + range.lowerBound, outStride: layer.outCount,
                        accumulate: accumulate)
                }
            } else if rows == 1 {
                BLAS.gemv(m: layer.outCount, n: layer.inCount, a: w.baseAddress!, lda: layer.inCount, x: x, y: y, beta: accumulate ? 1 : 0, threads: threads)
            } else {
                BLAS.gemm(
                    m: rows, n: layer.outCount, k: layer.inCount, a: x, lda: layer.inCount,
                    b: w.baseAddress!, ldb: layer.inCount, transposeB: true, c: y, ldc: layer.outCount,
                    beta: accumulate ? 1 : 0, threads: threads)
            }
        }
        addBias(y, rows: rows, width: layer.outCount, layer.bias)
    }
}

extension WhisperKernels {
    /// Dot product of two `count`-value vectors, eight lanes at a time.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 8 <= count {
            acc += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        var sum = acc.sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// y += alpha * x over `count` values.
    @inline(__always)
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += alpha * x[i] }
    }
}

/// Carries a non-Sendable value into parallel workers that use it race-free.
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
