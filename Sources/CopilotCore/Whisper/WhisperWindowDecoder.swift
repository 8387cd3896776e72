#if canImport(Glibc)
import Glibc
#endif

/// How one 30 s window is decoded (faster-whisper's defaults, except beam size 1).
public struct WhisperDecodingOptions: Sendable, Equatable {
    /// Temperatures tried in order until a result passes the thresholds (0 = greedy).
    public var temperatures: [Double] = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    /// Retry at the next temperature when the gzip compression ratio of the text exceeds this.
    public var compressionRatioThreshold: Double? = 2.4
    /// Retry when the average log-probability is below this.
    public var logProbThreshold: Double? = -1.0
    /// Treat the window as silence when p(no speech) exceeds this and the average
    /// log-probability is below `logProbThreshold`.
    public var noSpeechThreshold: Double? = 0.6
    /// Candidates sampled at a temperature above 0 (the best is kept).
    public var bestOf = 5
    /// Beams searched at temperature 0 (1 = greedy).
    public var beamSize = 1
    /// Latest allowed first timestamp, in seconds.
    public var maxInitialTimestamp = 1.0
    /// Seed of the sampler used at temperatures above 0. Each sample of a temperature draws
    /// its own generator from the seeded one, so its tokens do not depend on the other samples.
    public var seed: UInt64 = 0
    /// The samples of a temperature (and the beams of a beam search) advance as one batch
    /// through the decoder (``WhisperDecoding/decode(batch:caches:cross:logits:)``); `false`
    /// runs them one after another, with the same results up to float rounding.
    public var batchesHypotheses = true

    /// faster-whisper's defaults with greedy search.
    public init() {}
}

/// The outcome of decoding one window at one temperature.
package struct WhisperWindowResult: Sendable, Equatable {
    /// Sampled tokens, text and timestamps, without the final `<|endoftext|>`.
    package var tokens: [Int]
    /// Sum of the log-probabilities of the sampled tokens including `<|endoftext|>`.
    package var sumLogProb: Double
    /// `sumLogProb / (tokens.count + 1)`, as faster-whisper reports it.
    package var avgLogProb: Double { sumLogProb / Double(tokens.count + 1) }
    /// Probability of `<|nospeech|>` at the first step (before any suppression).
    package var noSpeechProb: Double
    /// Temperature used.
    package var temperature: Double
    /// Length of the UTF-8 text divided by its zlib-compressed length.
    package var compressionRatio: Double
    /// The search stopped at a loop (its text began to repeat) and `tokens` keep the text
    /// up to the first repeat; the hypothesis then covers the whole window.
    package var stoppedAtRepetition = false
}

/// Decodes 30 s windows: greedy (or sampled) search with Whisper's suppression and timestamp
/// rules, the no-speech probability, and the temperature fallback.
package final class WhisperWindowDecoder {
    /// The token decoder.
    package let decoder: any WhisperDecoding
    /// The model's special token ids.
    package let specials: WhisperSpecialTokens
    /// Suppressed at every step (config.json `suppress_ids`).
    package let suppressIds: [Int]
    /// Suppressed at the first sampled step (config.json `suppress_ids_begin`).
    package let suppressIdsAtBegin: [Int]
    /// Search and fallback settings.
    package let options: WhisperDecodingOptions
    private let cache: WhisperKVCache
    private var logits: [Float] = []
    private var random: SplitMix64

    /// A window decoder over `decoder`.
    package init(
        decoder: any WhisperDecoding, specials: WhisperSpecialTokens = .englishOnly,
        suppressIds: [Int], suppressIdsAtBegin: [Int], options: WhisperDecodingOptions
    ) {
        self.decoder = decoder
        self.specials = specials
        let vocabulary = decoder.dimensions.vocabularySize
        self.suppressIds = suppressIds.filter { $0 >= 0 && $0 < vocabulary }
        self.suppressIdsAtBegin = suppressIdsAtBegin.filter { $0 >= 0 && $0 < vocabulary }
        self.options = options
        self.cache = WhisperKVCache(dimensions: decoder.dimensions)
        self.random = SplitMix64(seed: options.seed)
    }

    /// The prompt: `<|startofprev|>` and the last 223 previous tokens when there are any, then
    /// `<|startoftranscript|>`.
    package func prompt(previousTokens: ArraySlice<Int>) -> [Int] {
        var prompt: [Int] = []
        if !previousTokens.isEmpty {
            prompt.append(specials.startOfPrevious)
            prompt += previousTokens.suffix(decoder.dimensions.textContext / 2 - 1)
        }
        prompt.append(specials.startOfTranscript)
        return prompt
    }

    /// Decodes a window with the temperature fallback: the first result whose compression
    /// ratio and average log-probability pass, else (all failed) the best by average
    /// log-probability among those under the compression threshold.
    ///
    /// With `fallback: false` only the first temperature is tried (a quick hypothesis);
    /// `maximumTokens` bounds each search (a looping hypothesis stops there); `bestOf`
    /// overrides the candidates sampled per temperature above 0; `stopsAtRepetition` ends a
    /// search at its first loop (see ``decode(cross:prompt:temperature:maximumTokens:stopsAtRepetition:shouldStop:)``).
    /// `shouldStop` is asked before each decoder step; once it answers `true` the search ends
    /// and `CancellationError` is thrown (a live partial gives way to a final this way within
    /// one step, about 10 ms). A result whose only fault is a compression ratio over the
    /// threshold is kept when `acceptsRepetition` says its repeats were spoken: a sentence said
    /// three times in one window used to cost the whole ladder (25 more searches, 27 s instead
    /// of 4 s for an 11 s clip) and still ended with the same text.
    package func decodeWithFallback(
        cross: WhisperCrossCache, prompt: [Int], fallback: Bool = true, maximumTokens: Int? = nil, bestOf: Int? = nil,
        stopsAtRepetition: Bool = false, shouldStop: () -> Bool = { false }, text: ([Int]) -> String,
        acceptsRepetition: (WhisperWindowResult) -> Bool = { _ in false }
    ) throws -> WhisperWindowResult {
        var results: [WhisperWindowResult] = []
        for temperature in fallback ? options.temperatures[...] : options.temperatures.prefix(1) {
            var best: WhisperWindowResult?
            let candidates = temperature > 0 ? max(1, bestOf ?? options.bestOf) : 1
            let searched = search(
                cross: cross, prompt: prompt, temperature: temperature, samples: candidates, maximumTokens: maximumTokens,
                stopsAtRepetition: stopsAtRepetition, shouldStop: shouldStop)
            if shouldStop() { throw CancellationError() }
            for var result in searched {
                result.compressionRatio = try Self.compressionRatio(text(result.tokens))
                if best == nil || result.avgLogProb > best!.avgLogProb { best = result }
            }
            guard let result = best else { continue }
            results.append(result)
            var needsFallback = false
            if let threshold = options.compressionRatioThreshold, result.compressionRatio > threshold, !acceptsRepetition(result) {
                needsFallback = true
            }
            if let threshold = options.logProbThreshold, result.avgLogProb < threshold { needsFallback = true }
            if let noSpeech = options.noSpeechThreshold, let logProb = options.logProbThreshold,
                result.noSpeechProb > noSpeech, result.avgLogProb < logProb
            {
                needsFallback = false  // silence: keep it, the caller skips the window
            }
            if !needsFallback { return result }
        }
        let passing = results.filter { $0.compressionRatio <= (options.compressionRatioThreshold ?? .infinity) }
        let pool = passing.isEmpty ? results : passing
        return pool.max { $0.avgLogProb < $1.avgLogProb }!
    }

    /// The gzip-style compression ratio faster-whisper computes: UTF-8 bytes of the stripped
    /// text over their zlib-compressed size.
    package static func compressionRatio(_ text: String) throws -> Double {
        let bytes = Array(text.trimmingWhitespace().utf8)
        guard !bytes.isEmpty else { return 0 }
        return Double(bytes.count) / Double(try Zlib.compressedSize(of: bytes))
    }

    /// One search at one temperature (0: greedy), of at most `maximumTokens` new tokens
    /// (default: what the text context leaves after the prompt). A greedy or sampled search
    /// also ends, unfinished, before the first decoder step for which `shouldStop` is `true`.
    ///
    /// With `stopsAtRepetition` a greedy or sampled search also ends as soon as its text
    /// repeats itself (``repetitionCut(_:textEnd:)``), keeping the text before the repeat and
    /// marking the result `stoppedAtRepetition`. A short live partial loops this way ("Who?
    /// Who? Who? ...") until the token budget runs out, which made it the slowest job of the
    /// pipeline and left nothing to show (benchmarks/RESULTS.md, live section).
    package func decode(
        cross: WhisperCrossCache, prompt: [Int], temperature: Double, maximumTokens: Int? = nil,
        stopsAtRepetition: Bool = false, shouldStop: () -> Bool = { false }
    ) -> WhisperWindowResult {
        search(
            cross: cross, prompt: prompt, temperature: temperature, samples: 1, maximumTokens: maximumTokens,
            stopsAtRepetition: stopsAtRepetition, shouldStop: shouldStop)[0]
    }

    /// One hypothesis of a greedy or sampled search.
    private struct Hypothesis {
        var tokens: [Int] = []
        var logProbs: [Double] = []
        var sumLogProb = 0.0
        var stoppedAtRepetition = false
        var cache: WhisperKVCache
        var logits: [Float]
        var generator: SplitMix64
    }

    /// ``decode(cross:prompt:temperature:maximumTokens:stopsAtRepetition:shouldStop:)`` for
    /// `samples` hypotheses from one prompt (decoded once): at temperature 0 one greedy search
    /// (or the beam search), above it `samples` samples, each with its own generator drawn
    /// from the seeded one, advanced together as one batch
    /// (``WhisperDecodingOptions/batchesHypotheses``) or one after another.
    package func search(
        cross: WhisperCrossCache, prompt: [Int], temperature: Double, samples: Int, maximumTokens: Int? = nil,
        stopsAtRepetition: Bool = false, shouldStop: () -> Bool = { false }
    ) -> [WhisperWindowResult] {
        let dims = decoder.dimensions
        cache.clear()
        decoder.decode(tokens: prompt[...], cache: cache, cross: cross, logits: &logits)
        let noSpeechProb = specials.noSpeech < logits.count ? Self.softmaxProbability(logits, of: specials.noSpeech) : 0
        let maxNewTokens = max(1, min(dims.textContext - prompt.count, maximumTokens ?? .max))
        if temperature <= 0 && options.beamSize > 1 {
            let (best, sum) = beamSearch(cross: cross, maxNewTokens: maxNewTokens)
            return [WhisperWindowResult(tokens: best, sumLogProb: sum, noSpeechProb: noSpeechProb, temperature: temperature, compressionRatio: 0)]
        }
        let count = temperature > 0 ? max(1, samples) : 1
        var hypotheses: [Hypothesis] = (0..<count).map { k in
            Hypothesis(
                cache: count == 1 ? cache : WhisperKVCache(sharing: cache), logits: logits,
                generator: SplitMix64(seed: temperature > 0 ? random.next() : 0))
        }
        /// Picks the next token of `h` from its logits; whether it needs a decoder step.
        func advance(_ h: inout Hypothesis) -> Bool {
            applyRules(&h.logits, sampled: h.tokens)
            let (token, logProb) = pick(h.logits, temperature: temperature, generator: &h.generator)
            h.sumLogProb += logProb
            if token == specials.endOfText { return false }
            h.tokens.append(token)
            h.logProbs.append(logProb)
            if stopsAtRepetition, token < specials.endOfText, let keep = Self.repetitionCut(h.tokens, textEnd: specials.endOfText) {
                for dropped in h.logProbs[keep...] { h.sumLogProb -= dropped }
                h.tokens.removeSubrange(keep...)
                h.stoppedAtRepetition = true
                return false
            }
            return h.tokens.count < maxNewTokens && !shouldStop()
        }
        if options.batchesHypotheses && count > 1 {
            var active = Array(hypotheses.indices)
            while !active.isEmpty {
                active = active.filter { advance(&hypotheses[$0]) }
                guard !active.isEmpty else { break }
                var batch = active.map { k in
                    defer { hypotheses[k].logits = [] }  // moved, not copied
                    return hypotheses[k].logits
                }
                decoder.decode(batch: active.map { hypotheses[$0].tokens.last! }, caches: active.map { hypotheses[$0].cache }, cross: cross, logits: &batch)
                for (k, l) in zip(active, batch) { hypotheses[k].logits = l }
            }
        } else {
            for k in hypotheses.indices {
                while advance(&hypotheses[k]) {
                    decoder.decode(tokens: [hypotheses[k].tokens.last!][...], cache: hypotheses[k].cache, cross: cross, logits: &hypotheses[k].logits)
                }
            }
        }
        return hypotheses.map { h in
            WhisperWindowResult(
                tokens: h.tokens, sumLogProb: h.sumLogProb, noSpeechProb: noSpeechProb, temperature: temperature,
                compressionRatio: 0, stoppedAtRepetition: h.stoppedAtRepetition)
        }
    }

    /// Where a looping hypothesis should end: when the text tokens of `tokens` (ids below
    /// `textEnd`; timestamps are skipped, as they grow from copy to copy) end with a run
    /// that repeats the one before it (a run of two or more tokens twice, one token three
    /// times, so a single "very very" stays), the number of leading tokens that keep
    /// everything up to the end of the first copy; `nil` when they do not. O(n^2) in the
    /// text tokens, run after each new one (a few dozen at most in a partial).
    package static func repetitionCut(_ tokens: [Int], textEnd: Int) -> Int? {
        var text: [Int] = []  // positions of the text tokens in `tokens`
        text.reserveCapacity(tokens.count)
        for (i, token) in tokens.enumerated() where token < textEnd { text.append(i) }
        let n = text.count
        guard n >= 3 else { return nil }
        for length in 1...(n / 2) {
            let copies = length == 1 ? 3 : 2
            guard copies * length <= n else { continue }
            var repeats = true
            compare: for copy in 1..<copies {
                for k in 1...length where tokens[text[n - k]] != tokens[text[n - k - copy * length]] {
                    repeats = false
                    break compare
                }
            }
            if repeats { return text[n - (copies - 1) * length - 1] + 1 }
        }
        return nil
    }

    /// One hypothesis of the beam search with its own key/value cache.
    private struct Beam {
        var tokens: [Int]
        var sumLogProb: Double
        var cache: WhisperKVCache
        var logits: [Float]
    }

    /// Beam search at temperature 0 from the prompt already in `cache` / `logits`: each step
    /// extends every beam by its best `beamSize + 1` tokens under the same rules as greedy
    /// search, keeps the `beamSize` best unfinished continuations by total log-probability and
    /// collects those ending in `<|endoftext|>` until `beamSize` are finished, as CTranslate2
    /// (faster-whisper) does: an end of text finishes a hypothesis only when it ranks among the
    /// step's best `beamSize` candidates, and the result is the finished one with the best
    /// log-probability per token, the end of text not counted (an end of text ranked lower let
    /// two short hypotheses fill the set, and a window of two sentences kept only the second).
    /// Returns (tokens, sum).
    private func beamSearch(cross: WhisperCrossCache, maxNewTokens: Int) -> ([Int], Double) {
        let beamSize = options.beamSize, eot = specials.endOfText
        // Caches of beams with no continuation, reused: a new beam copies its parent's rows into
        // one unless it is the parent's last continuation, which takes the parent's cache.
        var spare: [WhisperKVCache] = []
        func copy(of parent: WhisperKVCache) -> WhisperKVCache {
            let cache = spare.popLast() ?? WhisperKVCache(dimensions: decoder.dimensions)
            cache.copyRows(from: parent)
            return cache
        }
        var beams = [Beam(tokens: [], sumLogProb: 0, cache: WhisperKVCache(sharing: cache), logits: logits)]
        var finished: [(tokens: [Int], sum: Double)] = []
        while finished.count < beamSize && !beams.isEmpty {
            var candidates: [(score: Double, beam: Int, token: Int)] = []
            for (index, beam) in beams.enumerated() {
                var l = beam.logits
                applyRules(&l, sampled: beam.tokens)
                let top = l.withUnsafeBufferPointer { p -> [(Int, Double)] in
                    let logSum = Self.logSumExp(p, 0..<p.count)
                    return Self.largest(p, count: beamSize + 1).map { ($0, Double(p[$0]) - logSum) }
                }
                for (token, logProb) in top where logProb > -.infinity {
                    candidates.append((beam.sumLogProb + logProb, index, token))
                }
            }
            candidates.sort { $0.score > $1.score || ($0.score == $1.score && $0.token < $1.token) }
            var chosen: [(score: Double, beam: Int, token: Int)] = []
            for (rank, candidate) in candidates.enumerated() {
                if candidate.token == eot {
                    if rank < beamSize && finished.count < beamSize { finished.append((beams[candidate.beam].tokens, candidate.score)) }
                } else {
                    chosen.append(candidate)
                    if chosen.count == beamSize { break }
                }
            }
            // A parent's last continuation takes over its cache; the others get copies of its
            // rows, made before that (nothing is written until the decoder step below).
            var children = [Int](repeating: 0, count: beams.count)
            for candidate in chosen { children[candidate.beam] += 1 }
            var next: [Beam] = []
            for candidate in chosen {
                let parent = beams[candidate.beam]
                children[candidate.beam] -= 1
                next.append(Beam(
                    tokens: parent.tokens + [candidate.token], sumLogProb: candidate.score,
                    cache: children[candidate.beam] == 0 ? parent.cache : copy(of: parent.cache), logits: []))
            }
            let continued = Set(chosen.map(\.beam))
            if next.first.map({ $0.tokens.count >= maxNewTokens }) ?? true {
                finished += next.map { ($0.tokens, $0.sumLogProb) }
                break
            }
            if options.batchesHypotheses {
                var batch = next.map(\.logits)
                decoder.decode(batch: next.map { $0.tokens.last! }, caches: next.map(\.cache), cross: cross, logits: &batch)
                for i in next.indices { next[i].logits = batch[i] }
            } else {
                for i in next.indices {
                    decoder.decode(tokens: [next[i].tokens.last!][...], cache: next[i].cache, cross: cross, logits: &next[i].logits)
                }
            }
            spare += beams.indices.filter { !continued.contains($0) }.map { beams[$0].cache }
            beams = next
        }
        guard let best = finished.max(by: { $0.sum / Double(max($0.tokens.count, 1)) < $1.sum / Double(max($1.tokens.count, 1)) })
        else { return ([], 0) }
        return best
    }

    /// Indices of the `count` largest values, largest first (ties: lower index first).
    static func largest(_ values: UnsafeBufferPointer<Float>, count: Int) -> [Int] {
        var best: [Int] = []
        for i in 0..<values.count where values[i] > -.infinity {
            if best.count < count || values[i] > values[best[best.count - 1]] {
                var at = best.count
                while at > 0 && values[best[at - 1]] < values[i] { at -= 1 }
                best.insert(i, at: at)
                if best.count > count { best.removeLast() }
            }
        }
        return best
    }

    /// Suppression lists and timestamp rules, applied to `logits` in place.
    private func applyRules(_ logits: inout [Float], sampled: [Int]) {
        let begin = specials.timestampBegin, eot = specials.endOfText
        let vocabulary = logits.count
        logits.withUnsafeMutableBufferPointer { l in
            if sampled.isEmpty { for id in suppressIdsAtBegin { l[id] = -.infinity } }
            for id in suppressIds { l[id] = -.infinity }
            l[specials.noTimestamps] = -.infinity
            let last = sampled.last.map(specials.isTimestamp) ?? false
            let penultimate = sampled.count < 2 || specials.isTimestamp(sampled[sampled.count - 2])
            if last {
                if penultimate {
                    for i in begin..<vocabulary { l[i] = -.infinity }  // a pair closed: text next
                } else {
                    for i in 0..<eot { l[i] = -.infinity }  // a lone timestamp: close it or end
                }
            }
            if let lastTimestamp = sampled.last(where: specials.isTimestamp) {
                // Timestamps never decrease; a new pair cannot reuse the last one.
                let floor = last && !penultimate ? lastTimestamp : lastTimestamp + 1
                for i in begin..<min(floor, vocabulary) { l[i] = -.infinity }
            }
            if sampled.isEmpty {
                for i in 0..<begin { l[i] = -.infinity }
                let lastAllowed = begin + Int((options.maxInitialTimestamp / WhisperSpecialTokens.timestampStepSeconds).rounded())
                if lastAllowed + 1 < vocabulary { for i in (lastAllowed + 1)..<vocabulary { l[i] = -.infinity } }
            }
            // When timestamps together are likelier than any text token, take a timestamp.
            let ro = UnsafeBufferPointer(l)
            let logSum = Self.logSumExp(ro, 0..<vocabulary)
            let timestampLogProb = Self.logSumExp(ro, begin..<vocabulary) - logSum
            var maxText = -Float.infinity
            for i in 0..<begin where l[i] > maxText { maxText = l[i] }
            if timestampLogProb > Double(maxText) - logSum {
                for i in 0..<begin { l[i] = -.infinity }
            }
        }
    }

    /// The next token and its log-probability under the filtered `logits`: the likeliest at
    /// temperature 0, else a sample drawn with `generator`.
    private func pick(_ logits: [Float], temperature: Double, generator random: inout SplitMix64) -> (Int, Double) {
        logits.withUnsafeBufferPointer { l in
            let logSum = Self.logSumExp(l, 0..<l.count)
            var chosen = 0
            if temperature <= 0 {
                var best = -Float.infinity
                for i in 0..<l.count where l[i] > best {
                    best = l[i]
                    chosen = i
                }
            } else {
                // Sample from softmax(logits / T).
                var maximum = -Float.infinity
                for v in l where v > maximum { maximum = v }
                var total = 0.0
                for v in l where v > -.infinity { total += exp(Double(v - maximum) / temperature) }
                var u = random.nextUnit() * total
                chosen = l.count - 1
                for i in 0..<l.count where l[i] > -.infinity {
                    u -= exp(Double(l[i] - maximum) / temperature)
                    if u <= 0 {
                        chosen = i
                        break
                    }
                }
            }
            return (chosen, Double(l[chosen]) - logSum)
        }
    }

    /// log(sum(exp(l[range]))), -infinity when every value is. Three calls per token over the
    /// whole vocabulary, on the critical path: eight lanes with ``WhisperKernels/exp8(_:)`` in
    /// release builds (libm's expf in debug builds, as for softmax).
    static func logSumExp(_ l: UnsafeBufferPointer<Float>, _ range: Range<Int>) -> Double {
        #if DEBUG
        var maximum = -Float.infinity
        for i in range where l[i] > maximum { maximum = l[i] }
        guard maximum > -.infinity else { return -.infinity }
        var sum: Float = 0
        for i in range { sum += expf(l[i] - maximum) }
        return Double(maximum) + log(Double(sum))
        #else
        let raw = UnsafeRawPointer(l.baseAddress!)
        var i = range.lowerBound
        var maxima = SIMD8<Float>(repeating: -.infinity)
        while i + 8 <= range.upperBound {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            maxima.replace(with: v, where: v .> maxima)
            i += 8
        }
        var maximum = maxima.max()
        while i < range.upperBound {
            maximum = max(maximum, l[i])
            i += 1
        }
        guard maximum > -.infinity else { return -.infinity }
        var sums = SIMD8<Float>()
        i = range.lowerBound
        while i + 8 <= range.upperBound {
            sums += WhisperKernels.exp8(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) - maximum)
            i += 8
        }
        var sum = sums.sum()
        while i < range.upperBound {
            sum += expf(l[i] - maximum)
            i += 1
        }
        return Double(maximum) + log(Double(sum))
        #endif
    }

    static func softmaxProbability(_ logits: [Float], of index: Int) -> Double {
        logits.withUnsafeBufferPointer { l in exp(Double(l[index]) - logSumExp(l, 0..<l.count)) }
    }
}

extension String {
    /// The string without leading and trailing whitespace (Python's `str.strip()`).
    func trimmingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let f = scalars.first, f.properties.isWhitespace { scalars = scalars.dropFirst() }
        while let l = scalars.last, l.properties.isWhitespace { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
