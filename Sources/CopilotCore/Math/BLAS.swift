import COpenBLAS
import Dispatch

/// The one wrapper around OpenBLAS (Debian's libopenblas, via the `COpenBLAS` system
/// library target): single-precision matrix products on row-major storage, the size of
/// OpenBLAS's thread pool, and the double-precision Cholesky factorisation and solves
/// (LAPACK's dpotrf/dpotrs, which OpenBLAS bundles) of the route tuner's Gaussian process.
/// No other file imports `COpenBLAS`.
package enum BLAS {
    /// Sets how many threads OpenBLAS uses for one product (`--threads`). Process-wide.
    package static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// `C[m x n] = alpha * op(A) * op(B) + beta * C`, all row-major, with leading dimensions
    /// (elements between consecutive rows) `lda`, `ldb`, `ldc`.
    ///
    /// `transposeA`: A is stored as [k x m] and used transposed; likewise `transposeB`: B is
    /// stored [n x k] (the layout of a linear layer's [out, in] weight). Cost O(m n k).
    ///
    /// `threads > 1` splits the rows of C (and A) into that many bands, each multiplied by a
    /// single-threaded OpenBLAS call on its own worker: with OpenBLAS's own pool set to one
    /// thread, this keeps its idle workers from spinning on `sched_yield` between the many
    /// small products of a decoder step.
    package static func gemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0, threads: Int = 1
    ) {
        guard m > 0, n > 0 else { return }
        let bands = transposeA ? 1 : min(threads, m / 32)
        if bands > 1 {
            let work = UncheckedSendableBox((a, b, c))
            SpinningWorkers.shared.perform(iterations: bands, threads: bands) { band in
                let first = m * band / bands, last = m * (band + 1) / bands
                let (a, b, c) = work.value
                gemm(
                    m: last - first, n: n, k: k, a: a + first * lda, lda: lda, b: b, ldb: ldb, transposeB: transposeB,
                    c: c + first * ldc, ldc: ldc, alpha: alpha, beta: beta)
            }
            return
        }
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `y = alpha * op(A) * x + beta * y` with A [m x n] row-major (leading dimension `lda`):
    /// `y[m] = A x[n]`, or with `transpose`, `y[n] = A^T x[m]`. Cost O(m n), bound by reading A.
    ///
    /// `threads > 1` (without `transpose`) splits the rows of A and y into bands, one
    /// single-threaded call per worker: one token's products are too small for OpenBLAS's pool
    /// but large enough (a few hundred KB of weights) that two cores stream them faster.
    package static func gemv(
        m: Int, n: Int, a: UnsafePointer<Float>, lda: Int, transpose: Bool = false,
        x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        alpha: Float = 1, beta: Float = 0, threads: Int = 1
    ) {
        guard m > 0, n > 0 else { return }
        let bands = transpose ? 1 : min(threads, m / 64)
        if bands > 1 {
            let work = UncheckedSendableBox((a, x, y))
            SpinningWorkers.shared.perform(iterations: bands, threads: bands) { band in
                let first = m * band / bands, last = m * (band + 1) / bands
                let (a, x, y) = work.value
                gemv(m: last - first, n: n, a: a + first * lda, lda: lda, x: x, y: y + first, alpha: alpha, beta: beta)
            }
            return
        }
        cblas_sgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// The dot product of `n` floats from `a` and from `b` (vectorized by OpenBLAS).
    package static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        n > 0 ? cblas_sdot(Int32(n), a, 1, b, 1) : 0
    }

    /// Factors the symmetric positive-definite `n x n` matrix in `a` (column-major; only its
    /// lower triangle is read) in place as `L Lᵀ`, leaving `L` in the lower triangle
    /// (LAPACK dpotrf). Throws ``LinearAlgebraError/notPositiveDefinite(order:)`` when a
    /// leading minor is not positive. O(n³/3).
    package static func choleskyFactor(_ a: UnsafeMutablePointer<Double>, n: Int) throws(LinearAlgebraError) {
        guard n > 0 else { return }
        var uplo = CChar(UInt8(ascii: "L")), order = blasint(n), lda = blasint(n), info = blasint(0)
        dpotrf_(&uplo, &order, a, &lda, &info)
        if info > 0 { throw .notPositiveDefinite(order: Int(info)) }
        if info < 0 { throw .invalidArgument(Int(-info)) }
    }

    /// Solves `A X = B` in place of `b` (`n x columns`, column-major) given `l`, the factor
    /// ``choleskyFactor(_:n:)`` left (LAPACK dpotrs). O(n² columns).
    package static func choleskySolve(_ l: UnsafePointer<Double>, n: Int, b: UnsafeMutablePointer<Double>, columns: Int = 1) throws(LinearAlgebraError) {
        guard n > 0, columns > 0 else { return }
        var uplo = CChar(UInt8(ascii: "L")), order = blasint(n), nrhs = blasint(columns), lda = blasint(n), ldb = blasint(n), info = blasint(0)
        dpotrs_(&uplo, &order, &nrhs, UnsafeMutablePointer(mutating: l), &lda, b, &ldb, &info)
        if info < 0 { throw .invalidArgument(Int(-info)) }
    }

    /// `B = L⁻¹ B` in place, with `l` the lower-triangular `n x n` factor and `b` `n x columns`,
    /// both column-major (BLAS dtrsm). O(n² columns).
    package static func lowerTriangularSolve(_ l: UnsafePointer<Double>, n: Int, b: UnsafeMutablePointer<Double>, columns: Int) {
        guard n > 0, columns > 0 else { return }
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, blasint(n), blasint(columns), 1, l, blasint(n), b, blasint(n))
    }
}

/// Failures of the LAPACK calls in ``BLAS``.
package enum LinearAlgebraError: Error, Equatable {
    /// The matrix is not positive definite: its leading minor of this order is not positive.
    case notPositiveDefinite(order: Int)
    /// LAPACK rejected argument number N (a bug in the caller).
    case invalidArgument(Int)
}
