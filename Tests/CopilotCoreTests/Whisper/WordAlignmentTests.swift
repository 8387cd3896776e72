import CopilotCore
import CopilotReference
import Testing

/// Word timestamps without a model: DTW, the median filter, the attention matrix, word
/// splitting, punctuation merging and the duration clamps, each on inputs worked out by hand.
@Suite struct WordAlignmentTests {
    static func word(_ text: String, _ start: Double, _ end: Double, tokens: [Int] = [0]) -> WhisperWord {
        WhisperWord(start: start, end: end, word: text, probability: 0.5, tokens: tokens)
    }

    @Test func dtwFollowsTheCheapCells() {
        // Cheap cells (0) on the path (0,0) (1,1) (1,2) (2,3); every other cell costs 5.
        let cost: [Float] = [
            0, 5, 5, 5,
            5, 0, 0, 5,
            5, 5, 5, 0,
        ]
        let path = WordAlignment.dtwPath(cost: cost, rows: 3, columns: 4)
        #expect(path.map(\.row) == [0, 1, 1, 2] && path.map(\.column) == [0, 1, 2, 3])
        // A step down costs what a cell costs: a tall matrix visits every row.
        let tall = WordAlignment.dtwPath(cost: [0, 9, 0, 9, 9, 0], rows: 3, columns: 2)
        #expect(tall.map(\.row) == [0, 1, 2] && tall.map(\.column) == [0, 0, 1])
    }

    @Test func dtwTiesGoLeftThenUpAsWhisperDoes() {
        // All cells equal: from the last cell, equal predecessors go left, then up, so the
        // path reads down first: (0,0) (1,0) (1,1).
        let path = WordAlignment.dtwPath(cost: [0, 0, 0, 0], rows: 2, columns: 2)
        #expect(path.map(\.row) == [0, 1, 1] && path.map(\.column) == [0, 0, 1])
        #expect(WordAlignment.dtwPath(cost: [], rows: 0, columns: 0).isEmpty)
        let row = WordAlignment.dtwPath(cost: [1, 1, 1], rows: 1, columns: 3)
        #expect(row.map(\.row) == [0, 0, 0] && row.map(\.column) == [0, 1, 2])
    }

    @Test func medianFilterReflectsAtTheEdges() {
        // Width 3 with reflection (no edge repeat): [9 1 9] [1 9 2] [9 2 8] [2 8 3] [8 3 8].
        #expect(WordAlignment.medianFilter([1, 9, 2, 8, 3], width: 3) == [9, 2, 8, 3, 8])
        #expect(WordAlignment.medianFilter([4, 1], width: 7) == [4, 1], "shorter than half the width: unchanged")
        #expect(WordAlignment.medianFilter([3, 3, 3, 3, 3, 3, 3, 3], width: 7) == [Float](repeating: 3, count: 8))
    }

    @Test func matrixIsStandardisedPerFrameAndAveragedOverHeads() {
        // Two rows, three frames, one head: the third frame is cut off before the softmax
        // (row 0: [0.007, 0.993], row 1: [0.5, 0.5]); each frame's two weights are then
        // standardised to -1 and +1 (population deviation), the larger to +1.
        let scores: [Float] = [0, 5, 0, 0, 0, 9]
        let m = WordAlignment.matrix(scores: [scores], rows: 2, frames: 3, usedFrames: 2, filterWidth: 1)
        #expect(m.count == 4)
        #expect(abs(m[0] + 1) < 1e-5 && abs(m[2] - 1) < 1e-5, "frame 0: row 1's weight is the larger \(m)")
        #expect(abs(m[1] - 1) < 1e-5 && abs(m[3] + 1) < 1e-5, "frame 1: row 0's \(m)")
        // Two heads that disagree everywhere average to zero.
        let flipped: [Float] = [0, 0, 0, 0, 5, 9]
        let mean = WordAlignment.matrix(scores: [scores, flipped], rows: 2, frames: 3, usedFrames: 2, filterWidth: 1)
        #expect(mean.allSatisfy { abs($0) < 1e-5 })
    }

    /// Token texts for the splitting tests: bytes per id, decoded as UTF-8 with U+FFFD for
    /// incomplete characters (the tokenizer's rule).
    static let bytes: [Int: [UInt8]] = [
        1: Array(" Hello".utf8), 2: Array(",".utf8), 3: Array(" world".utf8), 4: Array("wide".utf8), 5: Array(".".utf8),
        6: [0x20, 0x63, 0x61, 0x66, 0xC3], 7: [0xA9], 8: Array(" (".utf8), 9: Array(" yes".utf8), 10: Array(")".utf8),
    ]
    static func text(_ tokens: [Int]) -> String { String(decoding: tokens.flatMap { bytes[$0] ?? [] }, as: UTF8.self) }

    @Test func tokensSplitAtSpacesAndPunctuation() {
        let words = WordAlignment.words([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], text: Self.text)
        #expect(words.map(\.word) == [" Hello", ",", " worldwide", ".", " café", " (", " yes", ")"])
        #expect(words.map(\.tokens) == [[1], [2], [3, 4], [5], [6, 7], [8], [9], [10]])
        #expect(words.map(\.word).joined() == Self.text([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), "nothing lost or added")
        #expect(WordAlignment.words([4, 1], text: Self.text).map(\.word) == ["wide", " Hello"], "the first piece is a word")
        #expect(WordAlignment.words([], text: Self.text).isEmpty)
    }

    @Test func punctuationMergesIntoItsNeighbours() {
        var words = [
            Self.word(" Hello", 0, 1, tokens: [1]), Self.word(",", 1, 1.2, tokens: [2]), Self.word(" (", 1.2, 1.3, tokens: [8]),
            Self.word(" yes", 1.3, 2, tokens: [9]), Self.word(")", 2, 2.1, tokens: [10]), Self.word(".", 2.1, 2.2, tokens: [5]),
        ]
        WordAlignment.mergePunctuations(&words)
        #expect(words.map(\.word) == [" Hello,", "", "", " ( yes).", "", ""])
        #expect(words.map(\.tokens) == [[1, 2], [], [], [8, 9, 10, 5], [], []])
        #expect(words[3].start == 1.3 && words[3].end == 2, "times stay with the word")
        var quote = [Self.word(" said", 0, 1), Self.word(" \"", 1, 2), Self.word(" hi", 2, 3)]
        WordAlignment.mergePunctuations(&quote)
        #expect(quote.map(\.word) == [" said", "", " \" hi"])
    }

    @Test func longWordsAtSentenceEndsAreCut() {
        var words = [
            Self.word(" One", 0, 0.2), Self.word(" two", 0.2, 0.4), Self.word(".", 0.4, 2.4), Self.word(" Three", 2.4, 4.4),
            Self.word(" four", 4.4, 4.6), Self.word(" zero", 4.6, 4.6),
        ]
        let (median, maximum) = WordAlignment.clampAtSentenceEnds(&words)
        // Non-zero durations 0.2 0.2 2 2 0.2: median 0.2, maximum 0.4.
        #expect(abs(median - 0.2) < 1e-9 && abs(maximum - 0.4) < 1e-9)
        #expect(abs(words[2].end - 0.8) < 1e-9, "the mark is cut at its end")
        #expect(abs(words[3].start - 4.0) < 1e-9 && words[3].end == 4.4, "the word after a mark is cut at its start")
        #expect(words[1].end == 0.4 && words[4].start == 4.4)
    }
}

extension WhisperDifferentialTests {
    /// The forced pass of word alignment: the optimized decoder's recorded scores and token
    /// probabilities against the reference's plain loops, for a short sequence and one longer
    /// than a row block (129 tokens: a block and a single row, both of the decoder's paths).
    @Test(arguments: [5, 129])
    func forcedPassMatchesReference(length: Int) {
        let weights = RandomWhisper.weights(width: 32, heads: 2, decoderLayers: 2, audioContext: 20, textContext: 160, seed: 41)
        let dims = weights.dimensions
        let encoded = RandomWhisper.mel(dims.audioContext * dims.width, seed: 6)
        let fast = WhisperDecoder(weights: weights, threads: 2), slow = ReferenceWhisperDecoder(weights: weights)
        let tokens = (0..<length).map { ($0 * 53 + 11) % dims.vocabularySize }
        let heads = [WhisperAlignmentHead(layer: 1, head: 0), WhisperAlignmentHead(layer: 0, head: 1)]
        let a = fast.forcedPass(tokens: tokens, cross: fast.crossCache(encoderOutput: encoded), heads: heads, textVocabularyEnd: 250)
        let b = slow.forcedPass(tokens: tokens, cross: slow.crossCache(encoderOutput: encoded), heads: heads, textVocabularyEnd: 250)
        #expect(a.frames == dims.audioContext && b.frames == dims.audioContext)
        #expect(a.scores.count == 2 && a.scores.allSatisfy { $0.count == length * dims.audioContext })
        for (x, y) in zip(a.scores, b.scores) { #expect(RandomWhisper.relativeError(x, y) < 1e-3) }
        #expect(a.nextTokenProbabilities.count == length)
        for (p, q) in zip(a.nextTokenProbabilities, b.nextTokenProbabilities) { #expect(abs(p - q) < 1e-4) }
        for i in 0..<(length - 1) where tokens[i + 1] >= 250 { #expect(a.nextTokenProbabilities[i] == 0) }
        #expect(a.nextTokenProbabilities.contains { $0 > 0 })
        // The two heads differ (the scores are each head's own), and recording stops after the pass.
        #expect(a.scores[0] != a.scores[1])
        var after: [Float] = [], fresh: [Float] = []
        fast.decode(tokens: [3, 4][...], cache: WhisperKVCache(dimensions: dims), cross: fast.crossCache(encoderOutput: encoded), logits: &after)
        WhisperDecoder(weights: weights, threads: 2).decode(
            tokens: [3, 4][...], cache: WhisperKVCache(dimensions: dims), cross: fast.crossCache(encoderOutput: encoded), logits: &fresh)
        #expect(after == fresh)
    }
}
