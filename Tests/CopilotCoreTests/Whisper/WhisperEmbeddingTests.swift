import CopilotCore
import CopilotReference
import Testing

@Suite struct WhisperEmbeddingTests {
    /// Every finite half value goes through the logits kernel's in-register widening exactly.
    @Test func halfLogitsWidenEveryFiniteHalfExactly() {
        let finite = (0..<65536).map(UInt16.init).filter { ($0 >> 10) & 0x1f != 0x1f }
        let width = 16
        let rows = finite.count / width
        let embedding = WhisperEmbedding(halves: Array(finite.prefix(rows * width)), vocabularySize: rows, width: width)
        var out = [Float](repeating: .nan, count: rows)
        for useHalfKernels in HalfKernels.isAvailable ? [false, true] : [false] {
        for column in 0..<width {
            var x = [Float](repeating: 0, count: width)
            x[column] = 1
            x.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer {
                    embedding.halfLogits(xp.baseAddress!, into: $0.baseAddress!, threads: 2, useHalfKernels: useHalfKernels)
                }
            }
            for row in 0..<rows {
                let expected = Float(Float16(bitPattern: finite[row * width + column]))
                #expect(out[row] == expected || (out[row] == 0 && expected == 0))
                if out[row] != expected && !(out[row] == 0 && expected == 0) { return }
            }
        }
        }
        #expect(embedding[rows - 1, width - 1] == Float(Float16(bitPattern: finite[rows * width - 1])))
    }

    /// A float16 embedding gives the decoder the logits of the same values held as float32.
    @Test func halfAndFloatEmbeddingsAgreeInTheDecoder() {
        let base = RandomWhisper.weights()
        let dims = base.dimensions
        var floats = [Float](repeating: 0, count: dims.vocabularySize * dims.width)
        for v in 0..<dims.vocabularySize { for c in 0..<dims.width { floats[v * dims.width + c] = base.tokenEmbedding[v, c] } }
        let halves = floats.map { Float16($0).bitPattern }
        let rounded = halves.map { Float(Float16(bitPattern: $0)) }
        func weights(_ e: WhisperEmbedding) -> WhisperWeights {
            WhisperWeights(
                dimensions: dims, conv1Weight: base.conv1Weight, conv1Bias: base.conv1Bias, conv2Weight: base.conv2Weight,
                conv2Bias: base.conv2Bias, encoderPositions: base.encoderPositions, encoderLayers: base.encoderLayers,
                encoderNorm: base.encoderNorm, tokenEmbedding: e, decoderPositions: base.decoderPositions,
                decoderLayers: base.decoderLayers, decoderNorm: base.decoderNorm)
        }
        let half = weights(WhisperEmbedding(halves: halves, vocabularySize: dims.vocabularySize, width: dims.width))
        let float = weights(WhisperEmbedding(floats: rounded, vocabularySize: dims.vocabularySize, width: dims.width))
        let encoded = RandomWhisper.mel(dims.audioContext * dims.width, seed: 4)
        let a = WhisperDecoder(weights: half, threads: 2), b = ReferenceWhisperDecoder(weights: float)
        let ca = WhisperKVCache(dimensions: dims), cb = WhisperKVCache(dimensions: dims)
        var la: [Float] = [], lb: [Float] = []
        a.decode(tokens: [5, 9, 200][...], cache: ca, cross: a.crossCache(encoderOutput: encoded), logits: &la)
        b.decode(tokens: [5, 9, 200][...], cache: cb, cross: b.crossCache(encoderOutput: encoded), logits: &lb)
        #expect(RandomWhisper.relativeError(la, lb) < 1e-4)
    }

    /// The F16C kernel and the portable one give the same logits (up to summation order) for
    /// widths with and without a tail of fewer than eight values.
    @Test func halfKernelMatchesPortableKernel() throws {
        try #require(HalfKernels.isAvailable, "this CPU has no F16C; only the portable kernel runs")
        var random = SplitMix64(seed: 7)
        for width in [8, 13, 32, 40, 384] {
            let rows = 1500
            let halves = (0..<(rows * width)).map { _ in Float16(Float(random.nextUnit() * 2 - 1)).bitPattern }
            let x = (0..<width).map { _ in Float(random.nextUnit() * 2 - 1) }
            let embedding = WhisperEmbedding(halves: halves, vocabularySize: rows, width: width)
            var fast = [Float](repeating: .nan, count: rows), portable = fast
            x.withUnsafeBufferPointer { xp in
                fast.withUnsafeMutableBufferPointer {
                    embedding.halfLogits(xp.baseAddress!, into: $0.baseAddress!, threads: 2, useHalfKernels: true)
                }
                portable.withUnsafeMutableBufferPointer {
                    embedding.halfLogits(xp.baseAddress!, into: $0.baseAddress!, threads: 1, useHalfKernels: false)
                }
            }
            for row in 0..<rows { #expect(abs(fast[row] - portable[row]) <= 1e-5 * Float(width), "width \(width) row \(row)") }
        }
    }
}
