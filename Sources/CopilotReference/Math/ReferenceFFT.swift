import Foundation

/// The discrete Fourier transform the Python prototypes got from `numpy.fft.rfft`, written
/// plainly: recursive mixed-radix Cooley-Tukey in double precision (split by the smallest
/// prime factor of the length; a prime length is summed directly), with the twiddle factors
/// tabulated once per size as numpy's pocketfft plans them, but without its hand-unrolled
/// butterflies: a new array per level, one complex multiply-add per term.
///
/// - Complexity: O(n · (sum of n's prime factors)): 400 points (2⁴·5²) cost 400 · 18 complex
///   multiply-adds instead of the 400 · 400 of the direct sum.
package struct ReferenceFFT: Sendable {
    /// A complex number as a pair.
    package typealias Complex = (re: Double, im: Double)

    /// The transform length.
    package let size: Int
    private let cosTable: [Double]
    private let sinTable: [Double]

    /// A transform of `size` points (at least 1).
    package init(size: Int) {
        precondition(size >= 1, "an FFT needs at least one point")
        self.size = size
        cosTable = (0..<size).map { cos(2 * Double.pi * Double($0) / Double(size)) }
        sinTable = (0..<size).map { sin(2 * Double.pi * Double($0) / Double(size)) }
    }

    /// X[k] = Σ x[t] e^(-2πi kt/n) for k in 0..<n, n = ``size`` = `x.count`.
    package func transform(_ x: [Complex]) -> [Complex] {
        precondition(x.count == size, "input of \(x.count) points for an FFT of \(size)")
        return transform(x, step: 1)
    }

    /// |X[k]|² for k in 0...n/2 of the real signal `x` (`numpy.abs(numpy.fft.rfft(x)) ** 2`).
    package func powerSpectrum(_ x: [Double]) -> [Double] {
        let spectrum = transform(x.map { ($0, 0) })
        return (0...(size / 2)).map { spectrum[$0].re * spectrum[$0].re + spectrum[$0].im * spectrum[$0].im }
    }

    /// The transform of `x`, whose length is `size / step`: e^(-2πi j/len) is table entry
    /// `j · step`.
    private func transform(_ x: [Complex], step: Int) -> [Complex] {
        let n = x.count
        guard n > 1 else { return x }
        let p = Self.smallestPrimeFactor(n)
        let m = n / p
        // A prime length: the direct sum. Otherwise the p interleaved subsequences x[r],
        // x[r + p], ..., each of length m, transformed and combined.
        let parts = p == n
            ? x.map { [$0] }
            : (0..<p).map { r in transform(stride(from: r, to: n, by: p).map { x[$0] }, step: step * p) }
        var result = [Complex](repeating: (0, 0), count: n)
        // twiddle[r] is the table index of e^(-2πi r·k/n), advanced by r·step per k.
        var twiddle = [Int](repeating: 0, count: p)
        for k in 0..<n {
            var re = 0.0, im = 0.0
            for r in 0..<p {
                let part = parts[r][k - (k / m) * m]
                let c = cosTable[twiddle[r]], s = -sinTable[twiddle[r]]
                re += part.re * c - part.im * s
                im += part.re * s + part.im * c
                twiddle[r] += r * step
                if twiddle[r] >= size { twiddle[r] -= size }
            }
            result[k] = (re, im)
        }
        return result
    }

    static func smallestPrimeFactor(_ n: Int) -> Int {
        var f = 2
        while f * f <= n {
            if n % f == 0 { return f }
            f += 1
        }
        return n
    }
}
