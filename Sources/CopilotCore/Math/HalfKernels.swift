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
}

/// What the optimized code uses on this CPU, for `--stats`.
public enum OptimizedKernels {
    /// Whether the float16 kernels run here (AVX2, FMA and F16C); without them the optimized
    /// decoder computes its float16 logits with portable Swift code instead.
    public static var halfPrecisionAvailable: Bool { HalfKernels.isAvailable }

    /// One phrase: the instructions found, and what runs without them.
    public static var summary: String {
        halfPrecisionAvailable
            ? "OpenBLAS, float16 logits on AVX2+FMA+F16C"
            : "OpenBLAS, float16 logits in portable Swift (this CPU lacks AVX2, FMA or F16C)"
    }
}
