import Foundation

/// Power spectrum of 256 real samples: a 128-point complex radix-2 FFT of the even/odd
/// samples packed as real/imaginary parts, then the split step that recovers the 129 bins of
/// the real transform. Twiddles and bit-reversal are precomputed; `power` allocates nothing.
///
/// About 450 butterflies plus 129 split steps per call.
package final class RealFFT256 {
    /// Input length.
    package static let size = 256
    /// Output bins (0 ... size / 2).
    package static let bins = 129

    private let half = 128
    private let re: UnsafeMutablePointer<Float>
    private let im: UnsafeMutablePointer<Float>
    private let bitReverse: UnsafeMutablePointer<Int32>
    /// Twiddles of the stages of span 8 ... 128, concatenated (4 + 8 + ... + 64 entries).
    private let twRe: UnsafeMutablePointer<Float>
    private let twIm: UnsafeMutablePointer<Float>
    /// Split-step twiddles e^{-2 pi i k / 256}, k = 0 ... 128.
    private let splitRe: UnsafeMutablePointer<Float>
    private let splitIm: UnsafeMutablePointer<Float>

    /// Precomputes the tables.
    package init() {
        re = .allocate(capacity: half)
        im = .allocate(capacity: half)
        bitReverse = .allocate(capacity: half)
        twRe = .allocate(capacity: 124)
        twIm = .allocate(capacity: 124)
        splitRe = .allocate(capacity: 129)
        splitIm = .allocate(capacity: 129)
        for i in 0..<half {
            var r = 0
            var v = i
            for _ in 0..<7 {
                r = (r << 1) | (v & 1)
                v >>= 1
            }
            bitReverse[i] = Int32(r)
        }
        var offset = 0
        var m = 8
        while m <= half {
            for j in 0..<(m / 2) {
                let angle = -2 * Double.pi * Double(j) / Double(m)
                twRe[offset + j] = Float(cos(angle))
                twIm[offset + j] = Float(sin(angle))
            }
            offset += m / 2
            m *= 2
        }
        for k in 0...128 {
            let angle = -2 * Double.pi * Double(k) / 256
            splitRe[k] = Float(cos(angle))
            splitIm[k] = Float(sin(angle))
        }
    }

    deinit {
        re.deallocate()
        im.deallocate()
        bitReverse.deallocate()
        twRe.deallocate()
        twIm.deallocate()
        splitRe.deallocate()
        splitIm.deallocate()
    }

    /// Writes |X[k]|^2, k = 0 ... 128, of the 256 samples at `input` into `power`.
    package func power(_ input: UnsafePointer<Float>, into power: UnsafeMutablePointer<Float>) {
        let re = self.re, im = self.im
        for i in 0..<half {
            let j = Int(bitReverse[i])
            re[j] = input[2 * i]
            im[j] = input[2 * i + 1]
        }
        // Spans 2 and 4 together (radix-4, trivial twiddles 1 and -i).
        var s = 0
        while s < half {
            let ar = re[s] + re[s + 1], ai = im[s] + im[s + 1]
            let br = re[s] - re[s + 1], bi = im[s] - im[s + 1]
            let cr = re[s + 2] + re[s + 3], ci = im[s + 2] + im[s + 3]
            let dr = re[s + 2] - re[s + 3], di = im[s + 2] - im[s + 3]
            re[s] = ar + cr
            im[s] = ai + ci
            re[s + 2] = ar - cr
            im[s + 2] = ai - ci
            // (dr + i di) * (-i) = di - i dr
            re[s + 1] = br + di
            im[s + 1] = bi - dr
            re[s + 3] = br - di
            im[s + 3] = bi + dr
            s += 4
        }
        var offset = 0
        var m = 8
        while m <= half {
            let h = m / 2
            let wr = twRe + offset, wi = twIm + offset
            var block = 0
            while block < half {
                let ar = re + block, ai = im + block
                let br = re + block + h, bi = im + block + h
                for j in 0..<h {
                    let tr = wr[j] * br[j] - wi[j] * bi[j]
                    let ti = wr[j] * bi[j] + wi[j] * br[j]
                    let xr = ar[j], xi = ai[j]
                    br[j] = xr - tr
                    bi[j] = xi - ti
                    ar[j] = xr + tr
                    ai[j] = xi + ti
                }
                block += m
            }
            offset += h
            m *= 2
        }
        // Split: X[k] = E[k] + W^k O[k], E = (Z[k] + conj Z[N-k]) / 2, O = -i (Z[k] - conj Z[N-k]) / 2.
        let z0r = re[0], z0i = im[0]
        power[0] = (z0r + z0i) * (z0r + z0i)
        power[128] = (z0r - z0i) * (z0r - z0i)
        for k in 1..<half {
            let zr = re[k], zi = im[k]
            let cr = re[half - k], ci = -im[half - k]
            let er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci)
            let dr = zr - cr, di = zi - ci
            let or = 0.5 * di, oi = -0.5 * dr
            let xr = er + splitRe[k] * or - splitIm[k] * oi
            let xi = ei + splitRe[k] * oi + splitIm[k] * or
            power[k] = xr * xr + xi * xi
        }
    }
}
