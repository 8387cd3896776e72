/// The token embedding [vocabulary, width], which is also the output projection (tied).
///
/// A float16 model keeps it as float16 (40 MB for tiny.en instead of 80 MB as float32): rows
/// are widened when a token is embedded, and the logits kernel widens them in registers,
/// exactly, while it multiplies (F16C instructions where the CPU has them, else eight values at
/// a time with integer operations). Other models keep float32.
package struct WhisperEmbedding: Sendable {
    /// Rows (tokens).
    package let vocabularySize: Int
    /// Columns (model width).
    package let width: Int
    /// IEEE half-precision bit patterns, row-major, when stored as float16.
    let halves: [UInt16]?
    /// Values, row-major, when stored as float32.
    let floats: [Float]?

    /// An embedding held as float32 values (`vocabularySize * width`).
    package init(floats: [Float], vocabularySize: Int, width: Int) {
        self.vocabularySize = vocabularySize
        self.width = width
        self.floats = floats
        self.halves = nil
    }

    /// An embedding held as float16 bit patterns (`vocabularySize * width`).
    package init(halves: [UInt16], vocabularySize: Int, width: Int) {
        self.vocabularySize = vocabularySize
        self.width = width
        self.floats = nil
        self.halves = halves
    }

    /// Whether the values are kept as float16.
    package var isHalfPrecision: Bool { halves != nil }

    /// The value at (`row`, `column`) as float32 (exact).
    package subscript(row: Int, column: Int) -> Float {
        if let halves { return HalfFloat.table[Int(halves[row * width + column])] }
        return floats![row * width + column]
    }

    /// Copies row `row` as float32 into `destination` (`width` values).
    package func copyRow(_ row: Int, into destination: UnsafeMutablePointer<Float>) {
        if let halves {
            halves.withUnsafeBufferPointer { h in
                HalfFloat.widen(UnsafeRawPointer(h.baseAddress! + row * width), into: destination, count: width)
            }
        } else {
            floats!.withUnsafeBufferPointer { f in destination.update(from: f.baseAddress! + row * width, count: width) }
        }
    }

    /// `out[v] = row(v) . x` for every token v: the logits of hidden state `x` (`width` values).
    /// Rows are split over `threads`. O(vocabulary x width), bound by memory bandwidth.
    package func logits(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, threads: Int) {
        let width = self.width
        if let floats {
            floats.withUnsafeBufferPointer { f in
                BLAS.gemv(m: vocabularySize, n: width, a: f.baseAddress!, lda: width, x: x, y: out)
            }
            return
        }
        halfLogits(x, into: out, threads: threads, useHalfKernels: HalfKernels.isAvailable)
    }

    /// ``logits(_:into:threads:)`` of `count` hidden states (`rows`: `count x width`,
    /// row-major) into `outs` (one per state): a float16 embedding is read from memory once for
    /// all of them, with the same values as one call per state.
    package func logits(rows: UnsafePointer<Float>, count: Int, into outs: [UnsafeMutablePointer<Float>], threads: Int) {
        precondition(outs.count == count, "one output per hidden state")
        let width = self.width
        guard let halves, HalfKernels.isAvailable, count > 1 else {
            for v in 0..<count { logits(rows + v * width, into: outs[v], threads: threads) }
            return
        }
        halves.withUnsafeBufferPointer { h in
            let base = h.baseAddress!
            let work = UncheckedSendableBox(outs)
            WhisperKernels.parallelRows(vocabularySize, threads: threads, minimumRowsPerChunk: 1024) { chunk in
                let shifted: [UnsafeMutablePointer<Float>?] = work.value.map { $0 + chunk.lowerBound }
                shifted.withUnsafeBufferPointer { o in
                    HalfKernels.matrixVectors(
                        base + chunk.lowerBound * width, rowCount: chunk.count, width: width, xs: rows, count: count,
                        into: o.baseAddress!)
                }
            }
        }
    }

    /// ``logits(_:into:threads:)`` of a float16 embedding, through the C F16C kernel or the
    /// portable Swift one (tests run both on machines that have F16C).
    package func halfLogits(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, threads: Int, useHalfKernels: Bool) {
        let width = self.width
        guard let halves else { return }
        if useHalfKernels {
            // Bound by reading 2 bytes a weight: F16C widens eight halves per instruction.
            halves.withUnsafeBufferPointer { h in
                let base = h.baseAddress!
                WhisperKernels.parallelRows(vocabularySize, threads: threads, minimumRowsPerChunk: 1024) { rows in
                    HalfKernels.matrixVector(
                        base + rows.lowerBound * width, rowCount: rows.count, width: width, x: x, into: out + rows.lowerBound)
                }
            }
            return
        }
        // The kernel reads eight halves as four 32-bit words: the low halves are elements
        // 0, 2, 4, 6 and the high halves 1, 3, 5, 7. x is permuted to match once per call.
        let blocks = width / 8
        var permuted = [Float](repeating: 0, count: blocks * 8)
        for b in 0..<blocks {
            for j in 0..<4 {
                permuted[b * 8 + j] = x[b * 8 + 2 * j]
                permuted[b * 8 + 4 + j] = x[b * 8 + 2 * j + 1]
            }
        }
        halves.withUnsafeBufferPointer { h in
            permuted.withUnsafeBufferPointer { xp in
                let base = UnsafeRawPointer(h.baseAddress!)
                let px = xp.baseAddress!
                WhisperKernels.parallelRows(vocabularySize, threads: threads, minimumRowsPerChunk: 1024) { rows in
                    for row in rows {
                        let r = base + 2 * row * width
                        var sum = Self.halfDot(r, px, blocks: blocks)
                        for i in (blocks * 8)..<width {
                            sum += HalfFloat.widenSlow(r.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) * x[i]
                        }
                        out[row] = sum
                    }
                }
            }
        }
    }

    /// Dot product of `8 * blocks` float16 values (any alignment) with the permuted float32
    /// values, widening exactly in registers (see ``widen4(_:)``).
    @inline(__always)
    static func halfDot(_ halves: UnsafeRawPointer, _ permuted: UnsafePointer<Float>, blocks: Int) -> Float {
        var acc0 = SIMD4<Float>(), acc1 = SIMD4<Float>()
        let rx = UnsafeRawPointer(permuted)
        for b in 0..<blocks {
            let words = halves.loadUnaligned(fromByteOffset: 16 * b, as: SIMD4<UInt32>.self)
            acc0 += widen4(words & 0xffff) * rx.loadUnaligned(fromByteOffset: 32 * b, as: SIMD4<Float>.self)
            acc1 += widen4(words &>> 16) * rx.loadUnaligned(fromByteOffset: 32 * b + 16, as: SIMD4<Float>.self)
        }
        return (acc0 + acc1).sum()
    }

    /// Four finite halves (in the low 16 bits of each lane) to floats, exactly: the 15
    /// magnitude bits shifted into float32 position and scaled by 2^112 (which also makes half
    /// subnormals the right normal floats), then the sign bit restored.
    @inline(__always)
    static func widen4(_ bits: SIMD4<UInt32>) -> SIMD4<Float> {
        let magnitude = unsafeBitCast((bits & 0x7fff) &<< 13, to: SIMD4<Float>.self) * 0x1p112
        return unsafeBitCast(unsafeBitCast(magnitude, to: SIMD4<UInt32>.self) | ((bits & 0x8000) &<< 16), to: SIMD4<Float>.self)
    }
}
