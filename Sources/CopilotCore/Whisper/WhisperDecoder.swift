import Foundation

/// Self-attention keys and values of the tokens decoded so far in one sequence (one beam).
///
/// The first ``prefixCount`` positions may be another cache's rows, shared and only read (the
/// window's prompt, decoded once: every beam and every fallback sample starts from it, and a
/// beam's continuation shares its parent's), and the rest are this cache's own rows: per layer,
/// `capacity x width` values row-major, row `r` holding position `prefixCount + r`. The own
/// storage grows with the sequence (``reserve(rows:)``, 64 rows at a time, up to the model's
/// `textContext`) instead of holding the whole context from the start, as CTranslate2's cache
/// grows step by step (tiny.en: 5.5 MB per sequence at full size). A cache shared as a prefix
/// must not be cleared or rewritten while a cache reading it is in use.
package final class WhisperKVCache {
    /// This cache's own keys per layer (positions from ``prefixCount`` on).
    package private(set) var keys: [[Float]]
    /// This cache's own values per layer.
    package private(set) var values: [[Float]]
    /// Positions cached, the shared prefix included.
    package var count = 0
    /// Values per row (the model's width).
    package let width: Int
    /// Own rows the storage holds.
    package private(set) var capacity: Int
    /// The most positions a sequence can have (the model's text context).
    package let maximumRows: Int
    /// The cache whose first ``prefixCount`` rows are this one's first positions, or nil.
    package private(set) var prefix: WhisperKVCache?
    /// Positions read from ``prefix``.
    package private(set) var prefixCount = 0
    /// Own rows a new cache holds before it first grows: a prompt and a short segment.
    package static let initialRows = 64
    /// Rows added at a time when it grows.
    package static let growthRows = 64

    /// An empty cache for `dimensions`.
    package init(dimensions: WhisperDimensions) {
        width = dimensions.width
        maximumRows = dimensions.textContext
        capacity = min(Self.initialRows, dimensions.textContext)
        keys = Array(repeating: [Float](repeating: 0, count: capacity * width), count: dimensions.decoderLayerCount)
        values = keys
    }

    /// A cache whose positions so far are `shared`'s (read from it, not copied): a beam or a
    /// fallback sample starting from the prompt. `shared` must have no prefix of its own.
    package init(sharing shared: WhisperKVCache) {
        precondition(shared.prefix == nil, "a shared prefix has no prefix of its own")
        width = shared.width
        maximumRows = shared.maximumRows
        capacity = min(Self.initialRows, max(shared.maximumRows - shared.count, 0))
        keys = Array(repeating: [Float](repeating: 0, count: capacity * width), count: shared.keys.count)
        values = keys
        prefix = shared
        prefixCount = shared.count
        count = shared.count
    }

    /// Forgets every token and the shared prefix (keeps the storage).
    package func clear() {
        count = 0
        prefix = nil
        prefixCount = 0
    }

    /// Grows the own storage to hold positions up to `rows` (own rows rounded up to a multiple
    /// of ``growthRows``, positions at most ``maximumRows``); the rows set are kept. Growing by
    /// a fixed step rather than doubling: a window prompted with the text before it (up to
    /// 224 tokens) needs 250-350 rows, which doubling would round up to the whole context; the
    /// copies cost a few hundred kilobytes each, next to the decoder steps that fill the rows.
    package func reserve(rows: Int) {
        precondition(rows <= maximumRows, "decoder context overflow")
        let own = rows - prefixCount
        guard own > capacity else { return }
        let grown = min(maximumRows - prefixCount, (own + Self.growthRows - 1) / Self.growthRows * Self.growthRows)
        let added = (grown - capacity) * width
        for layer in keys.indices {
            keys[layer].append(contentsOf: repeatElement(0, count: added))
            values[layer].append(contentsOf: repeatElement(0, count: added))
        }
        capacity = grown
    }

    /// Stores `key` and `value` (`width` values each) of layer `layer` at `position`, which
    /// must be past the shared prefix and reserved.
    package func store(layer: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        let row = position - prefixCount
        precondition(row >= 0 && row < capacity, "a row outside the cache's own storage")
        keys[layer].withUnsafeMutableBufferPointer { (($0.baseAddress! + row * width)).update(from: key, count: width) }
        values[layer].withUnsafeMutableBufferPointer { (($0.baseAddress! + row * width)).update(from: value, count: width) }
    }

    /// Calls `body` with layer `layer`'s rows: ``WhisperKVRows/key(_:)`` and
    /// ``WhisperKVRows/value(_:)`` point at any position below ``count``.
    package func withRows<R>(layer: Int, _ body: (WhisperKVRows) -> R) -> R {
        keys[layer].withUnsafeBufferPointer { kp in
            values[layer].withUnsafeBufferPointer { vp in
                // Without a prefix, prefixCount is 0 and the prefix pointers are never read.
                func rows(prefixKeys: UnsafePointer<Float>, prefixValues: UnsafePointer<Float>) -> R {
                    body(WhisperKVRows(
                        prefixKeys: prefixKeys, prefixValues: prefixValues, prefixCount: prefixCount,
                        keys: kp.baseAddress!, values: vp.baseAddress!, width: width))
                }
                guard let prefix else { return rows(prefixKeys: kp.baseAddress!, prefixValues: vp.baseAddress!) }
                return prefix.keys[layer].withUnsafeBufferPointer { pk in
                    prefix.values[layer].withUnsafeBufferPointer { pv in rows(prefixKeys: pk.baseAddress!, prefixValues: pv.baseAddress!) }
                }
            }
        }
    }

    /// Layer `layer`'s keys of positions `0 ..< count`, row-major (a copy).
    package func keyRows(layer: Int) -> [Float] { rows(\.keys, layer: layer) }
    /// Layer `layer`'s values of positions `0 ..< count`, row-major (a copy).
    package func valueRows(layer: Int) -> [Float] { rows(\.values, layer: layer) }

    /// Positions `0 ..< count` of layer `layer` of `storage` (keys or values): the shared
    /// prefix's rows, then this cache's own.
    private func rows(_ storage: KeyPath<WhisperKVCache, [[Float]]>, layer: Int) -> [Float] {
        let own = self[keyPath: storage][layer].prefix((count - prefixCount) * width)
        guard let prefix else { return Array(own) }
        return Array(prefix[keyPath: storage][layer].prefix(prefixCount * width)) + own
    }

    /// Makes this cache hold `other`'s positions: the same shared prefix, and a copy of its own
    /// rows in this cache's storage (grown if it is smaller). A beam's continuation copies the
    /// tokens its parent decoded, not the prompt.
    package func copyRows(from other: WhisperKVCache) {
        precondition(other !== self && width == other.width && keys.count == other.keys.count && maximumRows == other.maximumRows, "caches of other dimensions")
        prefix = other.prefix
        prefixCount = other.prefixCount
        reserve(rows: other.count)
        let filled = (other.count - other.prefixCount) * width
        for layer in keys.indices {
            keys[layer].withUnsafeMutableBufferPointer { destination in
                other.keys[layer].withUnsafeBufferPointer { destination.baseAddress!.update(from: $0.baseAddress!, count: filled) }
            }
            values[layer].withUnsafeMutableBufferPointer { destination in
                other.values[layer].withUnsafeBufferPointer { destination.baseAddress!.update(from: $0.baseAddress!, count: filled) }
            }
        }
        count = other.count
    }
}

/// One layer's self-attention rows of a ``WhisperKVCache``: positions below `prefixCount` in
/// the shared prefix, the rest in the cache's own storage.
package struct WhisperKVRows {
    let prefixKeys: UnsafePointer<Float>
    let prefixValues: UnsafePointer<Float>
    let prefixCount: Int
    let keys: UnsafePointer<Float>
    let values: UnsafePointer<Float>
    let width: Int

    /// The key row of `position`.
    @inline(__always) package func key(_ position: Int) -> UnsafePointer<Float> {
        position < prefixCount ? prefixKeys + position * width : keys + (position - prefixCount) * width
    }

    /// The value row of `position`.
    @inline(__always) package func value(_ position: Int) -> UnsafePointer<Float> {
        position < prefixCount ? prefixValues + position * width : values + (position - prefixCount) * width
    }
}

/// Cross-attention keys and values of one window's encoder output, per decoder layer
/// (`positions x width` each, 1500 positions for a padded 30 s window), computed once per window.
package struct WhisperCrossCache: Sendable {
    /// Keys per layer.
    package var keys: [[Float]]
    /// Values per layer.
    package var values: [[Float]]

    /// Creates a cache from per-layer keys and values.
    package init(keys: [[Float]], values: [[Float]]) {
        self.keys = keys
        self.values = values
    }
}

/// The text decoder: one call appends tokens to a sequence and returns the next-token logits.
package protocol WhisperDecoding: AnyObject {
    /// The model's dimensions.
    var dimensions: WhisperDimensions { get }
    /// Cross-attention keys and values for a window's encoder output (`positions x width`, any
    /// number of positions up to `audioContext`).
    func crossCache(encoderOutput: [Float]) -> WhisperCrossCache
    /// Runs `tokens` (at positions `cache.count...`) through the decoder, appends their keys and
    /// values to `cache`, and writes the logits after the last token (`vocabularySize` values)
    /// into `logits`. `cache.count + tokens.count` must not exceed `textContext`.
    func decode(tokens: ArraySlice<Int>, cache: WhisperKVCache, cross: WhisperCrossCache, logits: inout [Float])
    /// One step of several sequences at once (the samples of a fallback temperature, the beams
    /// of a beam search): `tokens[i]` is appended to `caches[i]` (distinct caches) and the
    /// logits after it written into `logits[i]`. The same results as one
    /// ``decode(tokens:cache:cross:logits:)`` per sequence, up to float rounding.
    func decode(batch tokens: [Int], caches: [WhisperKVCache], cross: WhisperCrossCache, logits: inout [[Float]])
    /// One teacher-forced pass over a known sequence from an empty cache (word alignment, see
    /// ``WordAligner``): the pre-softmax cross-attention scores of `heads` and the probability
    /// of each next token. `tokens.count` must not exceed `textContext`; every head must exist.
    /// Only this call records scores, so ``decode(tokens:cache:cross:logits:)`` pays nothing.
    func forcedPass(tokens: [Int], cross: WhisperCrossCache, heads: [WhisperAlignmentHead], textVocabularyEnd: Int) -> WhisperForcedPass
}

extension WhisperDecoding {
    /// One ``decode(tokens:cache:cross:logits:)`` per sequence.
    package func decode(batch tokens: [Int], caches: [WhisperKVCache], cross: WhisperCrossCache, logits: inout [[Float]]) {
        precondition(tokens.count == caches.count && tokens.count == logits.count, "one token, cache and logits per sequence")
        for i in tokens.indices { decode(tokens: [tokens[i]][...], cache: caches[i], cross: cross, logits: &logits[i]) }
    }
}

/// What ``WhisperDecoding/forcedPass(tokens:cache:cross:heads:textVocabularyEnd:)`` returns.
package struct WhisperForcedPass: Sendable, Equatable {
    /// Per head asked for, in that order: `tokens.count x frames` cross-attention scores (query
    /// . key / sqrt(head width), before the softmax), row-major.
    package var scores: [[Float]]
    /// Encoder positions per row of `scores`.
    package var frames: Int
    /// Entry i: the probability of `tokens[i + 1]` after `tokens[...i]`, under the softmax over
    /// the ids below `textVocabularyEnd` only (CTranslate2's `align`); 0 for the last position
    /// and when the next token is not below `textVocabularyEnd`.
    package var nextTokenProbabilities: [Float]

    /// Creates a result.
    package init(scores: [[Float]], frames: Int, nextTokenProbabilities: [Float]) {
        self.scores = scores
        self.frames = frames
        self.nextTokenProbabilities = nextTokenProbabilities
    }
}

/// The optimized decoder: projections through OpenBLAS, attention over the caches with SIMD
/// dot products, logits against the tied embedding as one sgemv. Scratch is allocated once.
package final class WhisperDecoder: WhisperDecoding {
    /// The model weights.
    package let weights: WhisperWeights
    /// The model dimensions.
    package var dimensions: WhisperDimensions { weights.dimensions }
    /// Worker threads for row-wise work.
    package let threads: Int

    private let x, h, qkv, hidden, scores, last: UnsafeMutablePointer<Float>
    /// Floats in `scores`.
    private let scoresCapacity: Int
    /// The logits of a batched step (``decode(batch:caches:cross:logits:)``), kept between
    /// steps: at 200 KB a sequence, a fresh buffer per step is mapped and faulted in each time.
    private var batchLogits: UnsafeMutablePointer<Float>?
    private var batchLogitsCapacity = 0
    /// During ``forcedPass(tokens:cross:heads:textVocabularyEnd:)`` only: per decoder layer and
    /// head, where that head's cross-attention scores go (`tokens x frames`), or nil.
    private var capturedScores: [[UnsafeMutablePointer<Float>?]]?
    /// Tokens run through at once; longer inputs (a prompt with the previous text can have 225)
    /// go in chunks, which bounds the scratch memory.
    static let maximumRows = 128

    /// Prepares scratch buffers for `weights`' dimensions.
    package init(weights: WhisperWeights, threads: Int = 1) {
        self.weights = weights
        self.threads = max(1, threads)
        let dm = weights.dimensions
        let n = min(dm.textContext, Self.maximumRows), d = dm.width
        x = .allocate(capacity: n * d)
        h = .allocate(capacity: n * d)
        qkv = .allocate(capacity: n * 3 * d)
        hidden = .allocate(capacity: n * max(dm.ffnWidth, d))
        scoresCapacity = max(n, dm.headCount) * max(dm.audioContext, dm.textContext)
        scores = .allocate(capacity: scoresCapacity)
        last = .allocate(capacity: d)
    }

    deinit {
        for p in [x, h, qkv, hidden, scores, last] { p.deallocate() }
        batchLogits?.deallocate()
    }

    /// The cross-attention keys and values of one window's encoder output.
    package func crossCache(encoderOutput: [Float]) -> WhisperCrossCache {
        let dm = dimensions
        let d = dm.width, t = encoderOutput.count / d
        var keys: [[Float]] = [], values: [[Float]] = []
        encoderOutput.withUnsafeBufferPointer { e in
            for layer in weights.decoderLayers {
                // The fused [2d, d] projection's two halves straight into keys and values.
                func project(_ half: Int) -> [Float] {
                    [Float](unsafeUninitializedCapacity: t * d) { out, initialized in
                        layer.crossKV.weight.withUnsafeBufferPointer { w in
                            BLAS.gemm(
                                m: t, n: d, k: d, a: e.baseAddress!, lda: d, b: w.baseAddress! + half * d * d, ldb: d,
                                transposeB: true, c: out.baseAddress!, ldc: d, threads: threads)
                        }
                        layer.crossKV.bias.withUnsafeBufferPointer { b in
                            let bias = b.baseAddress! + half * d
                            for r in 0..<t {
                                let row = out.baseAddress! + r * d
                                for c in 0..<d { row[c] += bias[c] }
                            }
                        }
                        initialized = t * d
                    }
                }
                keys.append(project(0))
                values.append(project(1))
            }
        }
        return WhisperCrossCache(keys: keys, values: values)
    }

    /// Runs `tokens` through the decoder, appending to `cache`; writes the next-token logits.
    package func decode(tokens: ArraySlice<Int>, cache: WhisperKVCache, cross: WhisperCrossCache, logits: inout [Float]) {
        let dm = dimensions
        if tokens.count > Self.maximumRows {
            decode(tokens: tokens.prefix(Self.maximumRows), cache: cache, cross: cross, logits: &logits)
            decode(tokens: tokens.dropFirst(Self.maximumRows), cache: cache, cross: cross, logits: &logits)
            return
        }
        forward(tokens: tokens, cache: cache, cross: cross)
        let d = dm.width, n = tokens.count
        WhisperKernels.layerNorm(x + (n - 1) * d, last, rows: 1, width: d, weights.decoderNorm, threads: 1)
        if logits.count != dm.vocabularySize { logits = [Float](repeating: 0, count: dm.vocabularySize) }
        logits.withUnsafeMutableBufferPointer { out in
            weights.tokenEmbedding.logits(last, into: out.baseAddress!, threads: threads)
        }
    }

    /// The sequences' rows go through every projection as one matrix product, the
    /// cross-attention keys and values are read once for all of them, and the embedding is
    /// read once for all their logits: a step of five samples costs little more than one
    /// (decoding is bound by reading the weights).
    package func decode(batch tokens: [Int], caches: [WhisperKVCache], cross: WhisperCrossCache, logits: inout [[Float]]) {
        let dm = dimensions
        let n = tokens.count
        precondition(caches.count == n && logits.count == n, "one token, cache and logits per sequence")
        precondition(Set(caches.map(ObjectIdentifier.init)).count == n, "each sequence needs its own cache")
        guard n > 0 else { return }
        if n > Self.maximumRows {
            var head = Array(logits[..<Self.maximumRows]), tail = Array(logits[Self.maximumRows...])
            decode(batch: Array(tokens[..<Self.maximumRows]), caches: Array(caches[..<Self.maximumRows]), cross: cross, logits: &head)
            decode(batch: Array(tokens[Self.maximumRows...]), caches: Array(caches[Self.maximumRows...]), cross: cross, logits: &tail)
            logits = head + tail
            return
        }
        forward(tokens: tokens[...], caches: caches, positions: caches.map(\.count), cross: cross)
        let d = dm.width
        WhisperKernels.layerNorm(x, h, rows: n, width: d, weights.decoderNorm, threads: threads)
        let vocabulary = dm.vocabularySize
        if batchLogitsCapacity < n * vocabulary {
            batchLogits?.deallocate()
            batchLogits = .allocate(capacity: n * vocabulary)
            batchLogitsCapacity = n * vocabulary
        }
        let out = batchLogits!
        weights.tokenEmbedding.logits(rows: h, count: n, into: (0..<n).map { out + $0 * vocabulary }, threads: threads)
        for i in 0..<n {
            if logits[i].count != vocabulary { logits[i] = [Float](repeating: 0, count: vocabulary) }
            logits[i].withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: out + i * vocabulary, count: vocabulary) }
        }
    }

    /// One pass over `tokens` returning the alignment heads' cross-attention.
    package func forcedPass(tokens: [Int], cross: WhisperCrossCache, heads: [WhisperAlignmentHead], textVocabularyEnd: Int) -> WhisperForcedPass {
        let dm = dimensions
        let d = dm.width, n = tokens.count, frames = (cross.keys.first?.count ?? 0) / d
        precondition(n > 0 && n <= dm.textContext, "decoder context overflow")
        let buffers = heads.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: n * frames) }
        defer { for buffer in buffers { buffer.deallocate() } }
        var table = [[UnsafeMutablePointer<Float>?]](
            repeating: [UnsafeMutablePointer<Float>?](repeating: nil, count: dm.headCount), count: dm.decoderLayerCount)
        for (head, buffer) in zip(heads, buffers) { table[head.layer][head.head] = buffer }
        capturedScores = table
        defer { capturedScores = nil }
        let cache = WhisperKVCache(dimensions: dm)
        var probabilities = [Float](repeating: 0, count: n)
        var logits = [Float](repeating: 0, count: dm.vocabularySize)
        var start = 0
        while start < n {
            let rows = min(Self.maximumRows, n - start)
            forward(tokens: tokens[start..<(start + rows)], cache: cache, cross: cross)
            WhisperKernels.layerNorm(x, h, rows: rows, width: d, weights.decoderNorm, threads: threads)
            logits.withUnsafeMutableBufferPointer { out in
                for i in 0..<rows where start + i + 1 < n && tokens[start + i + 1] < textVocabularyEnd {
                    weights.tokenEmbedding.logits(h + i * d, into: out.baseAddress!, threads: threads)
                    let logSum = WhisperWindowDecoder.logSumExp(UnsafeBufferPointer(out), 0..<textVocabularyEnd)
                    probabilities[start + i] = Float(exp(Double(out[tokens[start + i + 1]]) - logSum))
                }
            }
            start += rows
        }
        let scores = buffers.map { Array(UnsafeBufferPointer(start: $0, count: n * frames)) }
        return WhisperForcedPass(scores: scores, frames: frames, nextTokenProbabilities: probabilities)
    }

    /// Runs at most ``maximumRows`` tokens of one sequence through the layers, appending them
    /// to `cache`; leaves their hidden states (before the final norm) in `x`.
    private func forward(tokens: ArraySlice<Int>, cache: WhisperKVCache, cross: WhisperCrossCache) {
        let start = cache.count
        forward(tokens: tokens, caches: Array(repeating: cache, count: tokens.count), positions: Array(start..<(start + tokens.count)), cross: cross)
    }

    /// Runs at most ``maximumRows`` rows through the layers: row i is `tokens[i]` at
    /// `positions[i]` of the sequence whose keys and values `caches[i]` holds (rows of one
    /// sequence share its cache, at consecutive positions). Each row's keys and values are
    /// stored at its position, then it attends to its cache's positions up to its own; each
    /// cache ends up holding every row stored in it. Leaves the hidden states in `x`.
    private func forward(tokens: ArraySlice<Int>, caches: [WhisperKVCache], positions: [Int], cross: WhisperCrossCache) {
        let dm = dimensions
        let d = dm.width, n = tokens.count
        precondition(n > 0 && n <= Self.maximumRows && caches.count == n && positions.count == n, "decoder rows")
        precondition(positions.allSatisfy { $0 < dm.textContext }, "decoder context overflow")
        for (cache, position) in zip(caches, positions) { cache.reserve(rows: position + 1) }
        weights.decoderPositions.withUnsafeBufferPointer { pos in
            for (i, token) in tokens.enumerated() {
                let row = x + i * d
                weights.tokenEmbedding.copyRow(token, into: row)
                let p = pos.baseAddress! + positions[i] * d
                for j in 0..<d { row[j] += p[j] }
            }
        }
        for (index, layer) in weights.decoderLayers.enumerated() {
            selfAttention(layer, index: index, rows: n, caches: caches, positions: positions)
            crossAttention(layer, index: index, keys: cross.keys[index], values: cross.values[index], rows: n, start: positions[0])
            WhisperKernels.layerNorm(x, h, rows: n, width: d, layer.ffnNorm, threads: threads)
            WhisperKernels.linear(h, rows: n, layer.ffnIn, hidden, threads: threads)
            WhisperKernels.gelu(hidden, count: n * dm.ffnWidth, threads: threads)
            WhisperKernels.linear(hidden, rows: n, layer.ffnOut, x, accumulate: true, threads: threads)
        }
        for (cache, position) in zip(caches, positions) { cache.count = max(cache.count, position + 1) }
    }

    private func selfAttention(_ layer: WhisperDecoderLayer, index: Int, rows n: Int, caches: [WhisperKVCache], positions: [Int]) {
        let dm = dimensions
        let d = dm.width, hw = dm.headWidth
        WhisperKernels.layerNorm(x, h, rows: n, width: d, layer.selfNorm, threads: threads)
        WhisperKernels.linear(h, rows: n, layer.selfQKV, qkv, threads: threads)
        let scale = 1 / Float(hw).squareRoot()
        for i in 0..<n {
            caches[i].store(layer: index, position: positions[i], key: qkv + i * 3 * d + d, value: qkv + i * 3 * d + 2 * d)
        }
        // Row i attends to its cache's positions 0...positions[i] (causal).
        for i in 0..<n {
            let visible = positions[i] + 1
            caches[i].withRows(layer: index) { rows in
                for head in 0..<dm.headCount {
                    let q = qkv + i * 3 * d + head * hw
                    let s = scores
                    for j in 0..<visible { s[j] = WhisperKernels.dot(q, rows.key(j) + head * hw, count: hw) * scale }
                    WhisperKernels.softmaxRows(s, rows: 1, width: visible, stride: visible, threads: 1)
                    let o = h + i * d + head * hw
                    for c in 0..<hw { o[c] = 0 }
                    for j in 0..<visible { WhisperKernels.axpy(s[j], rows.value(j) + head * hw, o, count: hw) }
                }
            }
        }
        WhisperKernels.linear(h, rows: n, layer.selfOut, x, accumulate: true, threads: threads)
    }

    /// Cross-attention of `n` rows at positions `start...`; a forced pass copies the scores of
    /// its heads out before the softmax.
    private func crossAttention(_ layer: WhisperDecoderLayer, index: Int, keys: [Float], values: [Float], rows n: Int, start: Int) {
        let dm = dimensions
        let d = dm.width, hw = dm.headWidth, t = keys.count / d
        WhisperKernels.layerNorm(x, h, rows: n, width: d, layer.crossNorm, threads: threads)
        WhisperKernels.linear(h, rows: n, layer.crossQuery, qkv, threads: threads)
        let scale = 1 / Float(hw).squareRoot()
        let captured = capturedScores?[index]
        keys.withUnsafeBufferPointer { kp in
            values.withUnsafeBufferPointer { vp in
                let k = kp.baseAddress!, v = vp.baseAddress!
                if captured == nil, n > 1, n <= WhisperKernels.smallBatchRows, HalfKernels.isAvailable, dm.headCount * n * t <= scoresCapacity {
                    // A few sequences' rows (a batched step): per head, each key and value row
                    // read once for all of them, heads split over the workers.
                    let work = UncheckedSendableBox((qkv, h, scores))
                    WhisperKernels.parallelRows(dm.headCount, threads: threads, minimumRowsPerChunk: 1) { heads in
                        let (q, out, scores) = work.value
                        for head in heads {
                            let s = scores + head * n * t
                            HalfKernels.rowsDotVectors(
                                k + head * hw, rowCount: t, width: hw, rowStride: d, xs: q + head * hw, count: n, xStride: d,
                                into: s, outStride: t, alpha: scale)
                            WhisperKernels.softmaxRows(s, rows: n, width: t, stride: t, threads: 1)
                            HalfKernels.weightedRowSums(
                                v + head * hw, rowCount: t, width: hw, rowStride: d, weights: s, weightStride: t, count: n,
                                into: out + head * hw, outStride: d)
                        }
                    }
                } else if n == 1 {
                    // One token: matrix-vector products (sgemm would repack K and V for a
                    // single row), heads split over the workers, scores side by side.
                    let work = UncheckedSendableBox((qkv, h, scores, captured))
                    WhisperKernels.parallelRows(dm.headCount, threads: threads, minimumRowsPerChunk: 1) { heads in
                        let (q, out, scores, captured) = work.value
                        for head in heads {
                            let s = scores + head * t
                            BLAS.gemv(m: t, n: hw, a: k + head * hw, lda: d, x: q + head * hw, y: s, alpha: scale)
                            if let target = captured?[head] { (target + start * t).update(from: s, count: t) }
                            WhisperKernels.softmax(s, count: t)
                            BLAS.gemv(m: t, n: hw, a: v + head * hw, lda: d, transpose: true, x: s, y: out + head * hw)
                        }
                    }
                } else {
                    for head in 0..<dm.headCount {
                        BLAS.gemm(
                            m: n, n: t, k: hw, a: qkv + head * hw, lda: d, b: k + head * hw, ldb: d,
                            transposeB: true, c: scores, ldc: t, alpha: scale)
                        if let target = captured?[head] { (target + start * t).update(from: scores, count: n * t) }
                        WhisperKernels.softmaxRows(scores, rows: n, width: t, stride: t, threads: threads)
                        BLAS.gemm(m: n, n: hw, k: t, a: scores, lda: t, b: v + head * hw, ldb: d, c: h + head * hw, ldc: d)
                    }
                }
            }
        }
        WhisperKernels.linear(h, rows: n, layer.crossOut, x, accumulate: true, threads: threads)
    }
}
