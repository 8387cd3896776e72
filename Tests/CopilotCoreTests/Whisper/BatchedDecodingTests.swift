import CopilotCore
import CopilotReference
import Foundation
import Testing

/// The samples of a fallback temperature and the beams of a beam search advance as one batch
/// (``WhisperDecoding/decode(batch:caches:cross:logits:)``): the optimized decoder's batch step
/// against one step per sequence and against the reference decoder, the float16 embedding's
/// several-vector logits against one vector at a time, and the window decoder's batched search
/// against its one-after-another search.
@Suite struct BatchedDecodingTests {
    /// Three sequences at different positions (prompts of 1, 4 and 9 tokens) take one step
    /// together: the logits and caches equal one step each, by the same decoder and by the
    /// reference.
    @Test(arguments: [false, true])
    func aBatchStepEqualsOneStepPerSequence(halfEmbedding: Bool) {
        let weights = halfEmbedding ? RandomWhisper.withHalfEmbedding(RandomWhisper.weights()) : RandomWhisper.weights()
        let dims = weights.dimensions
        let encoded = RandomWhisper.mel(dims.audioContext * dims.width, seed: 4)
        let optimized = WhisperDecoder(weights: weights, threads: 2), reference = ReferenceWhisperDecoder(weights: weights)
        let cross = optimized.crossCache(encoderOutput: encoded), referenceCross = reference.crossCache(encoderOutput: encoded)
        let prompts = [[5], [5, 9, 200, 31], [7, 7, 8, 1, 2, 3, 250, 12, 6]]
        let next = [11, 299, 42]
        func prefilled(_ decoder: any WhisperDecoding, _ cross: WhisperCrossCache) -> [WhisperKVCache] {
            prompts.map { prompt in
                let cache = WhisperKVCache(dimensions: dims)
                var logits: [Float] = []
                decoder.decode(tokens: prompt[...], cache: cache, cross: cross, logits: &logits)
                return cache
            }
        }
        let batched = prefilled(optimized, cross)
        var batchLogits = [[Float]](repeating: [], count: 3)
        optimized.decode(batch: next, caches: batched, cross: cross, logits: &batchLogits)
        let single = prefilled(optimized, cross)
        let referenceCaches = prefilled(reference, referenceCross)
        for i in 0..<3 {
            var one: [Float] = [], expected: [Float] = []
            optimized.decode(tokens: [next[i]][...], cache: single[i], cross: cross, logits: &one)
            reference.decode(tokens: [next[i]][...], cache: referenceCaches[i], cross: referenceCross, logits: &expected)
            #expect(batchLogits[i].count == dims.vocabularySize)
            #expect(RandomWhisper.relativeError(batchLogits[i], one) < 1e-5, "sequence \(i) against one step")
            #expect(RandomWhisper.relativeError(batchLogits[i], expected) < 1e-4, "sequence \(i) against the reference")
            #expect(batched[i].count == prompts[i].count + 1 && single[i].count == batched[i].count)
            for layer in 0..<dims.decoderLayerCount {
                let rows = batched[i].count * dims.width
                #expect(RandomWhisper.relativeError(Array(batched[i].keys[layer].prefix(rows)), Array(single[i].keys[layer].prefix(rows))) < 1e-5)
                #expect(RandomWhisper.relativeError(Array(batched[i].values[layer].prefix(rows)), Array(single[i].values[layer].prefix(rows))) < 1e-5)
            }
        }
    }

    /// The float16 embedding read once for several hidden states gives each exactly the
    /// values of its own call (the same kernel per dot product).
    @Test func severalVectorsGetTheLogitsOfOneEach() throws {
        var random = SplitMix64(seed: 3)
        let rows = 3000, width = 384, count = 5
        let halves = (0..<(rows * width)).map { _ in Float16(Float(random.nextUnit() * 2 - 1)).bitPattern }
        let embedding = WhisperEmbedding(halves: halves, vocabularySize: rows, width: width)
        let xs = (0..<(count * width)).map { _ in Float(random.nextUnit() * 2 - 1) }
        var together = [Float](repeating: .nan, count: count * rows), alone = together
        xs.withUnsafeBufferPointer { x in
            together.withUnsafeMutableBufferPointer { out in
                embedding.logits(rows: x.baseAddress!, count: count, into: (0..<count).map { out.baseAddress! + $0 * rows }, threads: 2)
            }
            alone.withUnsafeMutableBufferPointer { out in
                for v in 0..<count { embedding.logits(x.baseAddress! + v * width, into: out.baseAddress! + v * rows, threads: 2) }
            }
        }
        #expect(together == alone)
    }

    /// Five samples at a temperature, batched or one after another: the same five results
    /// (each sample draws its own generator), each stopping at its own length, and so the same
    /// fallback result.
    @Test func batchedSamplesEqualSamplesOneAfterAnother() throws {
        let sot = 50257
        // Greedy loops (compression ratio far above 2.4); a sample ends when its own draws
        // make a token divisible by 7 after ten, or at 40.
        let script: ([Int]) -> (Int, Int?) = { fed in
            if fed.count == 1 { return (50363, nil) }
            let ended = fed.count > 40 || (fed.count > 10 && fed.last.map { $0 % 7 == 0 } == true)
            return ended ? (50256, nil) : (383 + fed.count % 3, 2068 + fed.count)
        }
        let text: ([Int]) -> String = { tokens in tokens.filter { $0 < 50256 }.map { " w\($0)" }.joined() }
        var samples: [[WhisperWindowResult]] = [], fallbacks: [WhisperWindowResult] = []
        for batched in [true, false] {
            var options = WhisperDecodingOptions()
            options.temperatures = [0, 0.5, 1.0]
            options.bestOf = 5
            options.seed = 3
            options.batchesHypotheses = batched
            func decoder() -> WhisperWindowDecoder {
                WhisperWindowDecoder(
                    decoder: ScriptedDecoder(script: script), suppressIds: [1, 2, 50357], suppressIdsAtBegin: [220, 50256], options: options)
            }
            samples.append(decoder().search(cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], temperature: 1.0, samples: 5))
            fallbacks.append(try decoder().decodeWithFallback(cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], text: text))
        }
        #expect(samples[0].count == 5 && samples[0] == samples[1])
        #expect(Set(samples[0].map(\.tokens.count)).count > 1, "samples of one length: \(samples[0].map(\.tokens.count))")
        #expect(Set(samples[0].map(\.tokens)).count > 1, "five equal samples")
        #expect(fallbacks[0] == fallbacks[1])
    }

    /// The small-batch kernels against plain loops, for widths with and without a tail of
    /// fewer than 8 (or 64) values and rows spaced wider than they are used.
    @Test(arguments: [8, 13, 64, 72, 136])
    func smallBatchKernelsMatchPlainLoops(width: Int) throws {
        try #require(HalfKernels.isAvailable, "this CPU has no AVX2/FMA; the decoder uses sgemm instead")
        var random = SplitMix64(seed: UInt64(width))
        let rows = 300, stride = width + 5, count = 3
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(random.nextUnit() * 2 - 1) } }
        let matrix = values(rows * stride), xs = values(count * stride), weights = values(count * rows)
        var dots = [Float](repeating: 0.5, count: count * rows), sums = [Float](repeating: .nan, count: count * stride)
        HalfKernels.rowsDotVectors(
            matrix, rowCount: rows, width: width, rowStride: stride, xs: xs, count: count, xStride: stride,
            into: &dots, outStride: rows, alpha: 2, accumulate: true)
        HalfKernels.weightedRowSums(
            matrix, rowCount: rows, width: width, rowStride: stride, weights: weights, weightStride: rows, count: count,
            into: &sums, outStride: stride)
        var dotError: Float = 0, sumError: Float = 0
        for v in 0..<count {
            for r in 0..<rows {
                var dot: Float = 0
                for i in 0..<width { dot += matrix[r * stride + i] * xs[v * stride + i] }
                dotError = max(dotError, abs(dots[v * rows + r] - (0.5 + 2 * dot)))
            }
            for c in 0..<width {
                var sum: Float = 0
                for r in 0..<rows { sum += weights[v * rows + r] * matrix[r * stride + c] }
                sumError = max(sumError, abs(sums[v * stride + c] - sum))
            }
        }
        #expect(dotError < 1e-4 && sumError < 1e-3, "dot \(dotError), sum \(sumError)")
    }
}
