import CopilotCore
import CopilotReference
import Testing

/// The self-attention cache grows with the sequence instead of holding the whole text context
/// from the start, and beams and samples read the prompt's rows from the cache that decoded it
/// instead of copying them: decoding across the growth and from a shared prompt gives the
/// logits of a cache reserved at full size (one token at a time, a prompt at once, a batch
/// step, a beam's copied rows), and the reference's.
@Suite struct WhisperKVCacheTests {
    /// A model whose text context (200) is more than three times a new cache's rows.
    static let weights = RandomWhisper.weights(textContext: 200)

    static func fullSize() -> WhisperKVCache {
        let cache = WhisperKVCache(dimensions: weights.dimensions)
        cache.reserve(rows: weights.dimensions.textContext)
        return cache
    }

    static func token(_ i: Int) -> Int { (17 + 31 * i) % weights.dimensions.vocabularySize }

    @Test func aNewCacheHoldsFewRowsAndGrowsByStepsUpToTheContext() {
        let dims = Self.weights.dimensions
        let cache = WhisperKVCache(dimensions: dims)
        #expect(cache.capacity == WhisperKVCache.initialRows && WhisperKVCache.initialRows == 64 && WhisperKVCache.growthRows == 64)
        #expect(cache.keys.allSatisfy { $0.count == WhisperKVCache.initialRows * dims.width })
        cache.reserve(rows: 10)
        #expect(cache.capacity == WhisperKVCache.initialRows)
        cache.reserve(rows: WhisperKVCache.initialRows + 1)
        #expect(cache.capacity == WhisperKVCache.initialRows + WhisperKVCache.growthRows)
        cache.reserve(rows: 150)
        #expect(cache.capacity == 192)
        cache.reserve(rows: 193)
        #expect(cache.capacity == dims.textContext)
        #expect(cache.values.allSatisfy { $0.count == dims.textContext * dims.width })
    }

    /// 150 tokens one at a time: every step's logits equal those of a full-size cache and the
    /// reference's, through both growths.
    @Test func oneTokenAtATimeAcrossTheGrowth() {
        let dims = Self.weights.dimensions
        let decoder = WhisperDecoder(weights: Self.weights, threads: 2), reference = ReferenceWhisperDecoder(weights: Self.weights)
        let encoded = RandomWhisper.mel(dims.audioContext * dims.width, seed: 5)
        let cross = decoder.crossCache(encoderOutput: encoded), referenceCross = reference.crossCache(encoderOutput: encoded)
        let growing = WhisperKVCache(dimensions: dims), full = Self.fullSize(), referenceCache = WhisperKVCache(dimensions: dims)
        var a: [Float] = [], b: [Float] = [], r: [Float] = []
        for i in 0..<150 {
            let t = [Self.token(i)][...]
            decoder.decode(tokens: t, cache: growing, cross: cross, logits: &a)
            decoder.decode(tokens: t, cache: full, cross: cross, logits: &b)
            reference.decode(tokens: t, cache: referenceCache, cross: referenceCross, logits: &r)
            #expect(a == b, "step \(i)")
            #expect(RandomWhisper.relativeError(a, r) < 1e-4, "step \(i) against the reference")
        }
        #expect(growing.count == 150 && growing.capacity == 192 && referenceCache.capacity == 192)
    }

    /// A 100-token prompt decoded at once, then a batch step of three sequences of which one
    /// grows on that step, then a beam's copy of a grown cache into a new one.
    @Test func aPromptABatchStepAndCopiedRowsAcrossTheGrowth() {
        let dims = Self.weights.dimensions
        let decoder = WhisperDecoder(weights: Self.weights, threads: 2)
        let cross = decoder.crossCache(encoderOutput: RandomWhisper.mel(dims.audioContext * dims.width, seed: 6))
        let prompt = (0..<100).map(Self.token)
        let lengths = [100, WhisperKVCache.initialRows, 3]
        var growing: [WhisperKVCache] = [], full: [WhisperKVCache] = []
        var a: [Float] = [], b: [Float] = []
        for length in lengths {
            let g = WhisperKVCache(dimensions: dims), f = Self.fullSize()
            decoder.decode(tokens: prompt[..<length], cache: g, cross: cross, logits: &a)
            decoder.decode(tokens: prompt[..<length], cache: f, cross: cross, logits: &b)
            #expect(a == b, "prompt of \(length)")
            growing.append(g)
            full.append(f)
        }
        #expect(growing[1].capacity == WhisperKVCache.initialRows)
        var batchA = [[Float]](repeating: [], count: 3), batchB = batchA
        decoder.decode(batch: [5, 6, 7], caches: growing, cross: cross, logits: &batchA)
        decoder.decode(batch: [5, 6, 7], caches: full, cross: cross, logits: &batchB)
        #expect(batchA == batchB)
        #expect(growing[1].capacity == WhisperKVCache.initialRows + WhisperKVCache.growthRows && growing[1].count == WhisperKVCache.initialRows + 1)
        let copied = WhisperKVCache(dimensions: dims)
        copied.copyRows(from: growing[0])
        #expect(copied.count == 101 && copied.capacity >= 101)
        decoder.decode(tokens: [9][...], cache: copied, cross: cross, logits: &a)
        decoder.decode(tokens: [9][...], cache: full[0], cross: cross, logits: &b)
        #expect(a == b)
    }

    /// Three caches start from one decoded prompt, sharing its rows: each continues with its
    /// own tokens (one token at a time, a batch step, copied rows, growth past its first own
    /// rows) and gets the logits of a full-size cache that decoded prompt and tokens itself, by
    /// the optimized decoder and by the reference; the prompt's cache is never written.
    @Test func cachesSharingAPromptGetTheLogitsOfTheirOwnCopy() {
        let dims = Self.weights.dimensions
        let decoder = WhisperDecoder(weights: Self.weights, threads: 2), reference = ReferenceWhisperDecoder(weights: Self.weights)
        let encoded = RandomWhisper.mel(dims.audioContext * dims.width, seed: 8)
        let cross = decoder.crossCache(encoderOutput: encoded), referenceCross = reference.crossCache(encoderOutput: encoded)
        let prompt = (0..<40).map(Self.token)
        let promptCache = WhisperKVCache(dimensions: dims), referencePrompt = WhisperKVCache(dimensions: dims)
        var logits: [Float] = []
        decoder.decode(tokens: prompt[...], cache: promptCache, cross: cross, logits: &logits)
        reference.decode(tokens: prompt[...], cache: referencePrompt, cross: referenceCross, logits: &logits)
        let promptKeys = promptCache.keyRows(layer: 0)
        let shared = (0..<3).map { _ in WhisperKVCache(sharing: promptCache) }
        let referenceShared = WhisperKVCache(sharing: referencePrompt)
        let own = (0..<3).map { _ in Self.fullSize() }
        for cache in own { decoder.decode(tokens: prompt[...], cache: cache, cross: cross, logits: &logits) }
        #expect(shared.allSatisfy { $0.count == 40 && $0.prefixCount == 40 && $0.capacity == WhisperKVCache.initialRows })
        var a: [Float] = [], b: [Float] = [], r: [Float] = []
        for step in 0..<100 {
            let tokens = (0..<3).map { Self.token(1000 + 7 * step + $0) }
            if step % 2 == 0 {
                var batchA = [[Float]](repeating: [], count: 3), batchB = batchA
                decoder.decode(batch: tokens, caches: shared, cross: cross, logits: &batchA)
                decoder.decode(batch: tokens, caches: own, cross: cross, logits: &batchB)
                #expect(batchA == batchB, "batch step \(step)")
            } else {
                for i in 0..<3 {
                    decoder.decode(tokens: [tokens[i]][...], cache: shared[i], cross: cross, logits: &a)
                    decoder.decode(tokens: [tokens[i]][...], cache: own[i], cross: cross, logits: &b)
                    #expect(a == b, "step \(step), sequence \(i)")
                }
            }
            reference.decode(tokens: [tokens[0]][...], cache: referenceShared, cross: referenceCross, logits: &r)
            decoder.decode(tokens: [7][...], cache: { let c = WhisperKVCache(dimensions: dims); c.copyRows(from: shared[0]); return c }(), cross: cross, logits: &a)
            decoder.decode(tokens: [7][...], cache: { let c = Self.fullSize(); c.copyRows(from: own[0]); return c }(), cross: cross, logits: &b)
            #expect(a == b, "copied rows after step \(step)")
        }
        #expect(RandomWhisper.relativeError(shared[0].keyRows(layer: 0), referenceShared.keyRows(layer: 0)) < 1e-4)
        #expect(shared[0].count == 140 && shared[0].prefixCount == 40 && shared[0].capacity == 128)
        #expect(promptCache.count == 40 && promptCache.keyRows(layer: 0) == promptKeys)
        #expect(shared[1].keyRows(layer: 0) == own[1].keyRows(layer: 0))
    }

    /// Two beams continuing one parent: the last takes over the parent's cache and the other
    /// gets a copy of its rows, so each writes only its own. The decoder reads each sequence
    /// back from its cache's rows; the likelier path goes through the parent's second
    /// continuation, and a cache shared by both continuations would have sent the search
    /// elsewhere.
    @Test func beamsContinuingOneParentKeepTheirOwnRows() {
        let t0 = 50363, sot = 50257, a = 1000, b = 2000, c = 3000, d = 4000, e = 5000, x = 6000, y = 7000, end = t0 + 50
        let table: [[Int]: [(Int, Float)]] = [
            []: [(t0, 30)],
            [t0]: [(a, 20), (b, 19)],
            [t0, a]: [(c, 20), (d, 19.9)],
            [t0, a, c]: [(x, 12)],
            [t0, a, d]: [(y, 30)],
            [t0, b]: [(e, 20)],
            [t0, a, c, x]: [(end, 30)],
            [t0, a, d, y]: [(end, 30)],
            [t0, b, e]: [(end, 30)],
        ]
        for batched in [true, false] {
            var options = WhisperDecodingOptions()
            options.beamSize = 2
            options.batchesHypotheses = batched
            let decoder = RowsDecoder(table: table)
            let search = WhisperWindowDecoder(decoder: decoder, suppressIds: [], suppressIdsAtBegin: [220, 50256], options: options)
            let result = search.decode(cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], temperature: 0)
            #expect(result.tokens == [t0, a, d, y, end], "batched: \(batched)")
            #expect(decoder.sequences.contains([sot, t0, a, c, x]), "both continuations of A were searched")
        }
    }
}

/// A decoder that keeps each sequence's tokens in its cache's rows (the first key of a row
/// holds the token) and gives the logits `table` lists for the sequence read back from the
/// rows (the prompt's first token left out); an end of text for any other sequence.
final class RowsDecoder: WhisperDecoding {
    let dimensions = ScriptedDecoder(script: { _ in (0, nil) }).dimensions
    let table: [[Int]: [(Int, Float)]]
    /// Every sequence read back.
    var sequences: [[Int]] = []

    init(table: [[Int]: [(Int, Float)]]) { self.table = table }

    func crossCache(encoderOutput: [Float]) -> WhisperCrossCache { WhisperCrossCache(keys: [], values: []) }

    func decode(tokens: ArraySlice<Int>, cache: WhisperKVCache, cross: WhisperCrossCache, logits: inout [Float]) {
        cache.reserve(rows: cache.count + tokens.count)
        for (i, token) in tokens.enumerated() {
            let row = [Float](repeating: Float(token), count: cache.width)
            cache.store(layer: 0, position: cache.count + i, key: row, value: row)
        }
        cache.count += tokens.count
        let keys = cache.keyRows(layer: 0)
        let sequence = (0..<cache.count).map { Int(keys[$0 * cache.width]) }
        sequences.append(sequence)
        logits = [Float](repeating: 0, count: dimensions.vocabularySize)
        for (token, value) in table[Array(sequence.dropFirst())] ?? [(50256, 30)] { logits[token] = value }
    }

    func forcedPass(tokens: [Int], cross: WhisperCrossCache, heads: [WhisperAlignmentHead], textVocabularyEnd: Int) -> WhisperForcedPass {
        WhisperForcedPass(scores: heads.map { _ in [] }, frames: 0, nextTokenProbabilities: [Float](repeating: 0, count: tokens.count))
    }
}
