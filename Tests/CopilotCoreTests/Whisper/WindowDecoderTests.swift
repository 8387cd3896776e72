import CopilotCore
import Foundation
import Testing

/// A decoder whose logits are scripted: `script(sequence)` gives the preferred token after
/// the tokens fed so far (prompt included); that token gets logit `top` (10 unless told),
/// `runnerUp` one less, all else 0.
/// Each cache is its own sequence; a cache first seen part-filled is a copy of the last one
/// started from empty (the samples of a temperature copy the prompt's cache).
final class ScriptedDecoder: WhisperDecoding {
    let dimensions = WhisperDimensions(
        melCount: 80, audioContext: 4, width: 8, headCount: 1, encoderLayerCount: 1, decoderLayerCount: 1,
        ffnWidth: 8, vocabularySize: 51864, textContext: 448)
    /// The sequence of the most recent call.
    var fed: [Int] = []
    /// Every sequence (its cache held, so no address is reused) and the last one started.
    var sequences: [ObjectIdentifier: (cache: WhisperKVCache, fed: [Int])] = [:]
    var started: [Int] = []
    /// Decoder steps run, all sequences together.
    var steps = 0
    let script: ([Int]) -> (Int, Int?)
    let top: Float

    init(top: Float = 10, script: @escaping ([Int]) -> (Int, Int?)) {
        self.top = top
        self.script = script
    }

    func crossCache(encoderOutput: [Float]) -> WhisperCrossCache { WhisperCrossCache(keys: [], values: []) }

    func decode(tokens: ArraySlice<Int>, cache: WhisperKVCache, cross: WhisperCrossCache, logits: inout [Float]) {
        let id = ObjectIdentifier(cache)
        let before = cache.count == 0 ? [] : sequences[id]?.fed ?? Array(started.prefix(cache.count))
        fed = before + tokens
        if cache.count == 0 { started = fed }
        sequences[id] = (cache, fed)
        steps += 1
        cache.count += tokens.count
        logits = [Float](repeating: 0, count: dimensions.vocabularySize)
        let (best, runnerUp) = script(fed)
        if let runnerUp { logits[runnerUp] = top - 1 }
        logits[best] = top
    }

    /// No encoder positions to attend to: no scores, every probability 0.
    func forcedPass(tokens: [Int], cross: WhisperCrossCache, heads: [WhisperAlignmentHead], textVocabularyEnd: Int) -> WhisperForcedPass {
        WhisperForcedPass(scores: heads.map { _ in [] }, frames: 0, nextTokenProbabilities: [Float](repeating: 0, count: tokens.count))
    }
}

@Suite struct WindowDecoderTests {
    let t0 = 50363, eot = 50256, sot = 50257

    func decoder(options: WhisperDecodingOptions = WhisperDecodingOptions(), _ script: @escaping ([Int]) -> (Int, Int?)) -> WhisperWindowDecoder {
        WhisperWindowDecoder(
            decoder: ScriptedDecoder(script: script), suppressIds: [1, 2, 50357], suppressIdsAtBegin: [220, 50256],
            options: options)
    }

    func run(_ d: WhisperWindowDecoder, prompt: [Int]? = nil) -> WhisperWindowResult {
        d.decode(cross: WhisperCrossCache(keys: [], values: []), prompt: prompt ?? [sot], temperature: 0)
    }

    @Test func firstTokenIsATimestampNoLaterThanOneSecond() {
        // The model prefers text, then a 5 s timestamp: the rules force <= <|1.00|>.
        let d = decoder { fed in fed.count == 1 ? (383, t0 + 250) : (eot, nil) }
        let r = run(d)
        #expect(r.tokens.first.map { $0 >= t0 && $0 <= t0 + 50 } == true)
    }

    @Test func timestampsComeInPairsAndNeverDecrease() {
        // Script: <|0.00|> text <|2.00|> then prefers an earlier timestamp, then EOT.
        let d = decoder { fed in
            switch fed.count {
            case 1: return (t0, nil)
            case 2: return (383, nil)
            case 3: return (t0 + 100, nil)
            case 4: return (t0 + 40, 2068)  // a decreasing timestamp: banned, text or later ts instead
            default: return (eot, nil)
            }
        }
        let r = run(d)
        #expect(r.tokens.prefix(3) == [t0, 383, t0 + 100])
        let timestamps = r.tokens.filter { $0 >= t0 }
        #expect(timestamps == timestamps.sorted())
        #expect(!r.tokens.contains(t0 + 40))
    }

    @Test func afterALoneTimestampTextIsBanned() {
        // <|0.00|> text <|1.00|>: a lone closing timestamp; text preferred next must give way to
        // a timestamp or the end.
        let d = decoder { fed in
            switch fed.count {
            case 1: return (t0, nil)
            case 2: return (383, nil)
            case 3: return (t0 + 50, nil)
            case 4: return (t0 + 50, nil)  // pair
            case 5: return (2068, nil)
            default: return (eot, nil)
            }
        }
        let r = run(d)
        #expect(r.tokens == [t0, 383, t0 + 50, t0 + 50, 2068])
    }

    @Test func suppressedTokensAreNeverSampled() {
        let d = decoder { fed in fed.count == 2 ? (1, 383) : (fed.count == 1 ? (t0, nil) : (eot, nil)) }
        let r = run(d)
        #expect(!r.tokens.contains(1))
        #expect(r.tokens.first == t0)
    }

    @Test func promptCarriesPreviousText() {
        let d = decoder { _ in (eot, nil) }
        #expect(d.prompt(previousTokens: []) == [sot])
        let previous = Array(0..<300)
        let p = d.prompt(previousTokens: previous[...])
        #expect(p.first == 50360 && p.last == sot && p.count == 225 && p[1] == 77)
    }

    @Test func compressionRatioMatchesPython() throws {
        // Python: len(b) / len(zlib.compress(b)) for the stripped text.
        #expect(abs(try WhisperWindowDecoder.compressionRatio("hello world") - 0.5789473684210527) < 1e-12)
        #expect(abs(try WhisperWindowDecoder.compressionRatio(String(repeating: "the cat sat on the mat. ", count: 10)) - 7.46875) < 1e-12)
        #expect(try WhisperWindowDecoder.compressionRatio("   ") == 0)
    }

    @Test func repetitiveTextFallsBackToSampling() throws {
        // Greedy loops on one token (compression ratio far above 2.4); the fallback samples at
        // higher temperatures with the seeded generator, deterministically.
        var options = WhisperDecodingOptions()
        options.temperatures = [0, 0.5, 1.0]
        options.bestOf = 2
        options.seed = 11
        let script: ([Int]) -> (Int, Int?) = { fed in fed.count == 1 ? (50363, nil) : (fed.count > 40 ? (50256, nil) : (383, 2068)) }
        let d = decoder(options: options, script)
        let text: ([Int]) -> String = { tokens in tokens.filter { $0 < 50256 }.map { " w\($0)" }.joined() }
        let a = try d.decodeWithFallback(cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], text: text)
        #expect(a.temperature > 0)
        #expect(a.compressionRatio <= 2.4)
        let b = try decoder(options: options, script).decodeWithFallback(cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], text: text)
        #expect(a == b)
    }

    /// A search asked to stop ends before its next decoder step; with the fallback it throws
    /// instead of returning the unfinished text.
    @Test func aSearchStopsBeforeTheNextStepOnceAsked() throws {
        let script: ([Int]) -> (Int, Int?) = { fed in fed.count == 1 ? (t0, nil) : (fed.count > 30 ? (eot, nil) : (383 + fed.count, nil)) }
        let whole = run(decoder(script))
        #expect(whole.tokens.count == 30)
        let scripted = ScriptedDecoder(script: script)
        let d = WhisperWindowDecoder(decoder: scripted, suppressIds: [], suppressIdsAtBegin: [], options: WhisperDecodingOptions())
        let stopped = d.decode(cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], temperature: 0) { scripted.fed.count >= 5 }
        #expect(stopped.tokens == Array(whole.tokens.prefix(5)))
        #expect(scripted.fed.count == 5, "steps run after the stop: \(scripted.fed.count - 5)")
        #expect(throws: CancellationError.self) {
            _ = try decoder(script).decodeWithFallback(
                cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], shouldStop: { true }, text: { _ in "x" })
        }
    }
}

/// A decoder whose logits are given per prefix: `table(sampled)` lists (token, logit) pairs;
/// every other token gets 0.
final class TableDecoder: WhisperDecoding {
    let dimensions = ScriptedDecoder(script: { _ in (0, nil) }).dimensions
    var fed: [Int] = []
    let table: ([Int]) -> [(Int, Float)]

    init(table: @escaping ([Int]) -> [(Int, Float)]) { self.table = table }

    func crossCache(encoderOutput: [Float]) -> WhisperCrossCache { WhisperCrossCache(keys: [], values: []) }

    func decode(tokens: ArraySlice<Int>, cache: WhisperKVCache, cross: WhisperCrossCache, logits: inout [Float]) {
        // Beams carry their own cache: the prefix is rebuilt from the cache's count.
        let prefix = Array(fed.prefix(cache.count)) + tokens
        fed = prefix
        cache.count = prefix.count
        logits = [Float](repeating: 0, count: dimensions.vocabularySize)
        for (token, value) in table(Array(prefix.dropFirst())) { logits[token] = value }
    }

    /// No encoder positions to attend to: no scores, every probability 0.
    func forcedPass(tokens: [Int], cross: WhisperCrossCache, heads: [WhisperAlignmentHead], textVocabularyEnd: Int) -> WhisperForcedPass {
        WhisperForcedPass(scores: heads.map { _ in [] }, frames: 0, nextTokenProbabilities: [Float](repeating: 0, count: tokens.count))
    }
}

extension WindowDecoderTests {
    @Test func beamSearchFindsTheLikelierSequenceGreedyMisses() {
        let a = 1000, b = 2000, c = 3000, d = 4000, e = 5000, end = t0 + 50
        // Greedy takes A (slightly likelier than B), then faces a coin flip (C or D); B leads to
        // a near-certain E, so the sequence through B is likelier overall.
        let table: ([Int]) -> [(Int, Float)] = { sampled in
            switch sampled.last {
            case nil: return [(50363, 30)]
            case t0 where sampled.count == 1: return [(a, 20), (b, 19.5)]
            case a: return [(c, 20), (d, 20)]
            case b: return [(e, 30)]
            case c, d, e: return [(end, 30)]
            default: return [(50256, 30)]
            }
        }
        // The table depends on the last token only, so beams sharing one TableDecoder (whose
        // prefix bookkeeping follows the most recent call) still see their own logits.
        var greedyOptions = WhisperDecodingOptions()
        greedyOptions.beamSize = 1
        let greedy = WhisperWindowDecoder(
            decoder: TableDecoder(table: table), suppressIds: [], suppressIdsAtBegin: [220, 50256], options: greedyOptions)
        var beamOptions = WhisperDecodingOptions()
        beamOptions.beamSize = 3
        let beam = WhisperWindowDecoder(
            decoder: TableDecoder(table: table), suppressIds: [], suppressIdsAtBegin: [220, 50256], options: beamOptions)
        let g = greedy.decode(cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], temperature: 0)
        let s = beam.decode(cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], temperature: 0)
        #expect(g.tokens == [t0, a, c, end])
        #expect(s.tokens == [t0, b, e, end])
        #expect(s.sumLogProb > g.sumLogProb)
    }

    /// The loop rule: a run of two or more text tokens repeated, or one token three times
    /// (timestamps between copies do not count); the cut keeps the first copy.
    @Test func repetitionCutFindsTheFirstLoopOfTheText() {
        let cut = { (tokens: [Int]) in WhisperWindowDecoder.repetitionCut(tokens, textEnd: eot) }
        let who = 8241, mark = 30
        // <|0.00|> Who ? <|0.50|><|0.50|> Who ?  -> keep <|0.00|> Who ?
        #expect(cut([t0, who, mark, t0 + 25, t0 + 25, who, mark]) == 3)
        #expect(cut([t0, who, mark, t0 + 25, t0 + 25, who]) == nil)
        // One token twice is speech ("very very"); three times is a loop.
        #expect(cut([t0, 845, 845]) == nil)
        #expect(cut([t0, 845, 845, 845]) == 2)
        // A longer run repeated inside one segment: "we need to we need to".
        #expect(cut([t0, 321, 761, 284, 321, 761, 284]) == 4)
        #expect(cut([t0, 321, 761, 284, 321, 761, 290]) == nil)
        #expect(cut([]) == nil)
        #expect(cut([t0, t0 + 10, t0 + 10]) == nil)
    }

    /// A quick search asked to stop at a loop ends there, keeps one copy and says so; the
    /// same search without it runs to its token budget.
    @Test func aLoopingSearchStopsAtItsFirstRepeatWhenAsked() {
        // <|0.00|> a b <|1.00|><|1.00|> a b <|2.00|><|2.00|> a b ... for ever.
        let cycle = [383, 2068, t0 + 50, t0 + 50]
        let script: ([Int]) -> (Int, Int?) = { fed in
            let step = fed.count - 1
            if step == 0 { return (t0, nil) }
            let token = cycle[(step - 1) % cycle.count]
            let round = (step - 1) / cycle.count
            return (token >= t0 ? token + 50 * round : token, nil)
        }
        let looping = decoder(script).decode(
            cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], temperature: 0, maximumTokens: 40)
        #expect(looping.tokens.count == 40)
        #expect(!looping.stoppedAtRepetition)
        let scripted = ScriptedDecoder(script: script)
        let d = WhisperWindowDecoder(decoder: scripted, suppressIds: [], suppressIdsAtBegin: [], options: WhisperDecodingOptions())
        let stopped = d.decode(
            cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], temperature: 0, maximumTokens: 40, stopsAtRepetition: true)
        #expect(stopped.tokens == [t0, 383, 2068])
        #expect(stopped.stoppedAtRepetition)
        #expect(scripted.fed.count < 10, "decoder steps run: \(scripted.fed.count)")
    }
}

extension WindowDecoderTests {
    /// Beam search ends hypotheses as CTranslate2 (faster-whisper) does: an end of text counts
    /// only when it ranks among the step's best `beamSize` candidates, and hypotheses are
    /// ranked by log-probability over their tokens (the end of text not counted). Before, an
    /// end of text ranked third filled the finished set with two short hypotheses, and
    /// `--no-vad --beam-size 5` printed "Thank you all for coming." for two sentences where
    /// faster-whisper printed both.
    @Test func aLowRankedEndOfTextDoesNotFinishTheSearch() {
        let a = 1000, b = 2000, a2 = 3000, b2 = 4000, c = 5000, d = 6000, end = t0 + 50
        // Step 2 ranks: [t0 a]+EOT, [t0 a a2], [t0 b]+EOT (third: ignored), [t0 b b2].
        let table: ([Int]) -> [(Int, Float)] = { sampled in
            switch sampled.last {
            case nil: return [(t0, 30)]
            case t0: return [(a, 20), (b, 19)]
            case a: return [(eot, 20), (a2, 19.5)]
            case b: return [(eot, 20), (b2, 19.5)]
            case a2: return [(c, 30)]
            case b2: return [(d, 30)]
            case c, d: return [(end, 30)]
            default: return [(eot, 30)]
            }
        }
        var options = WhisperDecodingOptions()
        options.beamSize = 2
        let beam = WhisperWindowDecoder(decoder: TableDecoder(table: table), suppressIds: [], suppressIdsAtBegin: [220, 50256], options: options)
        let result = beam.decode(cross: WhisperCrossCache(keys: [], values: []), prompt: [sot], temperature: 0)
        #expect(result.tokens == [t0, a, a2, c, end], "\(result.tokens)")
    }
}
