/// Turns one window of log-mel features into the encoder output the decoder attends to.
package protocol WhisperEncoding: AnyObject {
    /// The model's dimensions.
    var dimensions: WhisperDimensions { get }
    /// Encodes `mel`, `melCount x frameCount` values row-major (one row per mel bin, as
    /// numpy's `(80, 3000)` array), into `frameCount / 2 x width` values row-major.
    /// `frameCount` is even and at most `melFrames`: a shorter input uses the first
    /// `frameCount / 2` position encodings, so the work follows the audio's length instead
    /// of a padded 30 s window (Whisper was trained on padded windows only, so the result is
    /// close to, not equal to, the padded one).
    func encode(mel: [Float], frameCount: Int) -> [Float]
}

extension WhisperEncoding {
    /// Encodes one full 30 s window (`melFrames` frames) into `audioContext x width` values.
    package func encode(mel: [Float]) -> [Float] {
        encode(mel: mel, frameCount: dimensions.melFrames)
    }
}

/// The optimized encoder: im2col convolutions and every matrix product through OpenBLAS
/// (sgemm), row-wise work split over `threads`. Buffers are allocated once and reused for
/// every window, so encoding allocates only its result.
package final class WhisperEncoder: WhisperEncoding {
    /// The model weights.
    package let weights: WhisperWeights
    /// The model dimensions.
    package var dimensions: WhisperDimensions { weights.dimensions }
    /// Worker threads for row-wise work (OpenBLAS's own count is set by the caller).
    package let threads: Int

    // x (residual stream) and h (normalised input / attention output), [T, d] each, are one
    // block so that conv1's [2T, d] output can live there before conv2 writes x.
    private let xh: UnsafeMutablePointer<Float>
    private var x: UnsafeMutablePointer<Float> { xh }
    private var h: UnsafeMutablePointer<Float> { xh + dimensions.audioContext * dimensions.width }
    private let wide: UnsafeMutablePointer<Float>  // im2col, fused q;k;v, or FFN hidden
    private let scores: UnsafeMutablePointer<Float>  // [scoreRows, T]: one block of one head
    private let wideCount: Int
    /// Query rows whose attention scores are held at once (bounds memory: 256 x 1500 floats).
    static let scoreRows = 256

    /// Prepares buffers for `weights`' dimensions.
    package init(weights: WhisperWeights, threads: Int = 1) {
        self.weights = weights
        self.threads = max(1, threads)
        let dm = weights.dimensions
        let t = dm.audioContext, d = dm.width
        xh = .allocate(capacity: max(2 * t * d, dm.melFrames * d))
        wideCount = max(dm.melFrames * dm.melCount * 3, t * d * 3, t * 3 * d, t * dm.ffnWidth)
        wide = .allocate(capacity: wideCount)
        scores = .allocate(capacity: min(t, Self.scoreRows) * t)
    }

    deinit {
        xh.deallocate()
        wide.deallocate()
        scores.deallocate()
    }

    /// Encodes `mel` (`melCount x frames`) into the encoder output.
    package func encode(mel: [Float], frameCount frames: Int) -> [Float] {
        let dm = dimensions
        let mels = dm.melCount, d = dm.width, t = frames / 2
        precondition(frames > 0 && frames % 2 == 0 && frames <= dm.melFrames, "encoder input must be an even frame count up to \(dm.melFrames)")
        precondition(mel.count == mels * frames, "encoder input must be \(mels) x \(frames) mel values")
        let conv1Out = xh
        // conv1 as a product: im2col [frames, mels*3] (col = bin*3 + tap) times W^T.
        mel.withUnsafeBufferPointer { m in
            let cols = mels * 3
            WhisperKernels.parallelRows(frames, threads: threads) { range in
                for f in range {
                    let row = wide + f * cols
                    for bin in 0..<mels {
                        let src = m.baseAddress! + bin * frames
                        row[bin * 3] = f > 0 ? src[f - 1] : 0
                        row[bin * 3 + 1] = src[f]
                        row[bin * 3 + 2] = f + 1 < frames ? src[f + 1] : 0
                    }
                }
            }
            weights.conv1Weight.withUnsafeBufferPointer { w in
                BLAS.gemm(m: frames, n: d, k: cols, a: wide, lda: cols, b: w.baseAddress!, ldb: cols, transposeB: true, c: conv1Out, ldc: d, threads: threads)
            }
        }
        WhisperKernels.addBiasGELU(conv1Out, rows: frames, width: d, weights.conv1Bias, threads: threads)
        // conv2, stride 2: im2col [t, d*3] (col = channel*3 + tap) from rows 2i-1, 2i, 2i+1.
        let cols2 = d * 3
        WhisperKernels.parallelRows(t, threads: threads) { range in
            for i in range {
                let row = wide + i * cols2
                for tap in 0..<3 {
                    let f = 2 * i + tap - 1
                    if f < 0 || f >= frames {
                        for c in 0..<d { row[c * 3 + tap] = 0 }
                    } else {
                        let src = conv1Out + f * d
                        for c in 0..<d { row[c * 3 + tap] = src[c] }
                    }
                }
            }
        }
        weights.conv2Weight.withUnsafeBufferPointer { w in
            BLAS.gemm(m: t, n: d, k: cols2, a: wide, lda: cols2, b: w.baseAddress!, ldb: cols2, transposeB: true, c: x, ldc: d, threads: threads)
        }
        WhisperKernels.addBiasGELU(x, rows: t, width: d, weights.conv2Bias, threads: threads)
        weights.encoderPositions.withUnsafeBufferPointer { p in
            for i in 0..<(t * d) { x[i] += p[i] }
        }
        for layer in weights.encoderLayers { block(layer, positions: t) }
        var output = [Float](repeating: 0, count: t * d)
        output.withUnsafeMutableBufferPointer { o in
            WhisperKernels.layerNorm(x, o.baseAddress!, rows: t, width: d, weights.encoderNorm, threads: threads)
        }
        return output
    }

    private func block(_ layer: WhisperEncoderLayer, positions t: Int) {
        let dm = dimensions
        let d = dm.width, hw = dm.headWidth
        // Self-attention.
        WhisperKernels.layerNorm(x, h, rows: t, width: d, layer.attentionNorm, threads: threads)
        let qkv = wide
        WhisperKernels.linear(h, rows: t, layer.qkv, qkv, threads: threads)
        let scale = 1 / Float(hw).squareRoot()
        for head in 0..<dm.headCount {
            let k = qkv + d + head * hw, v = qkv + 2 * d + head * hw
            for first in stride(from: 0, to: t, by: Self.scoreRows) {
                let rows = min(Self.scoreRows, t - first)
                let q = qkv + first * 3 * d + head * hw
                BLAS.gemm(m: rows, n: t, k: hw, a: q, lda: 3 * d, b: k, ldb: 3 * d, transposeB: true, c: scores, ldc: t, alpha: scale, threads: threads)
                WhisperKernels.softmaxRows(scores, rows: rows, width: t, stride: t, threads: threads)
                BLAS.gemm(m: rows, n: hw, k: t, a: scores, lda: t, b: v, ldb: 3 * d, c: h + first * d + head * hw, ldc: d, threads: threads)
            }
        }
        // x += attention W_o^T + b (h is free again after the product reads it).
        WhisperKernels.linear(h, rows: t, layer.attentionOut, x, accumulate: true, threads: threads)
        // Feed-forward.
        WhisperKernels.layerNorm(x, h, rows: t, width: d, layer.ffnNorm, threads: threads)
        let hidden = wide
        layer.ffnIn.weight.withUnsafeBufferPointer { w in
            BLAS.gemm(m: t, n: dm.ffnWidth, k: d, a: h, lda: d, b: w.baseAddress!, ldb: d, transposeB: true, c: hidden, ldc: dm.ffnWidth, threads: threads)
        }
        WhisperKernels.addBiasGELU(hidden, rows: t, width: dm.ffnWidth, layer.ffnIn.bias, threads: threads)
        WhisperKernels.linear(hidden, rows: t, layer.ffnOut, x, accumulate: true, threads: threads)
    }
}
