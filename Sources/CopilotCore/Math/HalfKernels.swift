import CHalfKernels

/// The one wrapper around copilot's C float16 kernels (`CHalfKernels`): AVX2/FMA/F16C code
/// chosen at run time, for CPUs that have those instructions. No other file imports
/// `CHalfKernels`.
package enum HalfKernels {
    /// Whether this CPU runs the kernels (AVX2, FMA and F16C); checked once.
    package static let isAvailable: Bool = copilot_half_kernels_available() != 0

    /// `out[r] = row(r) . x` for `rowCount` float16 rows of `width` (bit patterns, row-major,
    /// any alignment): halves widened exactly, float32 fused multiply-adds. O(rowCount x width).
    /// Call only when ``isAvailable``.
    package static func matrixVector(
        _ rows: UnsafePointer<UInt16>, rowCount: Int, width: Int, x: UnsafePointer<Float>,
        into out: UnsafeMutablePointer<Float>
    ) {
        precondition(isAvailable, "HalfKernels need AVX2, FMA and F16C")
        copilot_half_matrix_vector(rows, rowCount, width, x, out)
    }

    /// ``matrixVector(_:rowCount:width:x:into:)`` for `count` vectors at once
    /// (`xs`: `count x width` row-major; `outs[v]` gets vector v's `rowCount` values), each row
    /// read from memory once; the same values as one call per vector. Call only when
    /// ``isAvailable``.
    package static func matrixVectors(
        _ rows: UnsafePointer<UInt16>, rowCount: Int, width: Int, xs: UnsafePointer<Float>, count: Int,
        into outs: UnsafePointer<UnsafeMutablePointer<Float>?>
    ) {
        precondition(isAvailable, "HalfKernels need AVX2, FMA and F16C")
        copilot_half_matrix_vectors(rows, rowCount, width, xs, count, outs)
    }
}

extension HalfKernels {
    /// `out[v * outStride + r] (+)= alpha * row(r) . x(v)` for `rowCount` float rows (`rowStride`
    /// apart, `width` used) and `count` vectors (`xStride` apart): each row read once for all
    /// vectors, no packing (a decoder step of a few sequences). Call only when ``isAvailable``.
    package static func rowsDotVectors(
        _ rows: UnsafePointer<Float>, rowCount: Int, width: Int, rowStride: Int, xs: UnsafePointer<Float>, count: Int,
        xStride: Int, into out: UnsafeMutablePointer<Float>, outStride: Int, alpha: Float = 1, accumulate: Bool = false
    ) {
        precondition(isAvailable, "HalfKernels need AVX2, FMA and F16C")
        copilot_rows_dot_vectors(rows, rowCount, width, rowStride, xs, count, xStride, out, outStride, alpha, accumulate ? 1 : 0)
    }

    /// `out[v * outStride + c] = sum over r of weights[v * weightStride + r] * row(r)[c]`:
    /// `count` weighted sums of the same `rowCount` rows (`rowStride` apart, `width` used),
    /// each row read once. Call only when ``isAvailable``.
    package static func weightedRowSums(
        _ rows: UnsafePointer<Float>, rowCount: Int, width: Int, rowStride: Int, weights: UnsafePointer<Float>,
        weightStride: Int, count: Int, into out: UnsafeMutablePointer<Float>, outStride: Int
    ) {
        precondition(isAvailable, "HalfKernels need AVX2, FMA and F16C")
        copilot_weighted_row_sums(rows, rowCount, width, rowStride, weights, weightStride, count, out, outStride)
    }
}

/// What the optimized code uses on this CPU, for `--stats`.
package enum OptimizedKernels {
    /// Whether the float16 kernels run here (AVX2, FMA and F16C); without them the optimized
    /// decoder computes its float16 logits with portable Swift code instead.
    package static var halfPrecisionAvailable: Bool { HalfKernels.isAvailable }

    /// One phrase: the instructions found, and what runs without them.
    package static var summary: String {
        halfPrecisionAvailable
            ? "OpenBLAS, float16 logits on AVX2+FMA+F16C"
            : "OpenBLAS, float16 logits in portable Swift (this CPU lacks AVX2, FMA or F16C)"
    }
}
