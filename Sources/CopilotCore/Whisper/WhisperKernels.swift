#if canImport(Glibc)
import Glibc
#endif
import Dispatch

/// Row-wise building blocks of the optimized encoder and decoder, on raw row-major buffers.
/// Each splits its rows over `threads` workers; none allocates.
enum WhisperKernels {
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
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
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

    /// Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), in place on `count` values.
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        parallelRows(count, threads: threads, minimumRowsPerChunk: 1 << 14) { range in
            for i in range {
                let v = x[i]
                x[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752))
            }
        }
    }

    /// Bias add then exact GELU, in place, `rows` rows of `width`.
    static func addBiasGELU(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, _ bias: [Float], threads: Int) {
        bias.withUnsafeBufferPointer { b in
            parallelRows(rows, threads: threads) { range in
                for r in range {
                    let row = x + r * width
                    for i in 0..<width {
                        let v = row[i] + b[i]
                        row[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752))
                    }
                }
            }
        }
    }

    /// Softmax of each of `rows` rows of `width` (stride `stride`), in place; only the first
    /// `valid(r)` entries of row r take part, the rest become 0 (causal masking).
    static func softmaxRows(
        _ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, stride: Int, threads: Int,
        valid: (Int) -> Int = { _ in Int.max }
    ) {
        parallelRows(rows, threads: threads) { range in
            for r in range {
                let row = x + r * stride
                let n = min(width, valid(r))
                var maximum = -Float.infinity
                for i in 0..<n where row[i] > maximum { maximum = row[i] }
                var sum: Float = 0
                for i in 0..<n {
                    let e = expf(row[i] - maximum)
                    row[i] = e
                    sum += e
                }
                let inv = 1 / sum
                for i in 0..<n { row[i] *= inv }
                for i in n..<width { row[i] = 0 }
            }
        }
    }

    /// y[rows x out] = x[rows x in] W^T + b through BLAS (`accumulate`: y += instead of =).
    static func linear(
        _ x: UnsafePointer<Float>, rows: Int, _ layer: WhisperLinear, _ y: UnsafeMutablePointer<Float>,
        accumulate: Bool = false
    ) {
        layer.weight.withUnsafeBufferPointer { w in
            if rows == 1 {
                BLAS.gemv(m: layer.outCount, n: layer.inCount, a: w.baseAddress!, lda: layer.inCount, x: x, y: y, beta: accumulate ? 1 : 0)
            } else {
                BLAS.gemm(
                    m: rows, n: layer.outCount, k: layer.inCount, a: x, lda: layer.inCount,
                    b: w.baseAddress!, ldb: layer.inCount, transposeB: true, c: y, ldc: layer.outCount,
                    beta: accumulate ? 1 : 0)
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

/// Carries a non-Sendable value into `concurrentPerform` workers that use it race-free.
struct UncheckedSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
