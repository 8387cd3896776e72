import Foundation

/// Word timestamps for the segments of one decoded window, the way faster-whisper's
/// `add_word_timestamps` makes them: one forced pass of the decoder over [<|startoftranscript|>,
/// <|notimestamps|>, the window's text tokens, <|endoftext|>] against the window's encoder
/// output, the cross-attention of the model's alignment heads turned into a matrix
/// (``WordAlignment/matrix(scores:rows:frames:usedFrames:filterWidth:)``), dynamic time
/// warping through it, token boundaries read as times (20 ms per encoder position), tokens
/// cut into words with punctuation merged, then faster-whisper's clamps on long words at
/// sentence ends and segment boundaries. Costs one decoder pass over the window's tokens plus
/// one logits row per token (for the probabilities).
package struct WordAligner {
    /// The decoder run for the forced pass (the transcriber's own).
    package let decoder: any WhisperDecoding
    /// The model's alignment heads (config.json `alignment_heads`).
    package let heads: [WhisperAlignmentHead]
    /// Special token ids.
    package let specials: WhisperSpecialTokens
    /// Token ids to text (ids >= <|endoftext|> dropped).
    let text: ([Int]) -> String

    /// An aligner over `decoder` with the model's `heads`; `text` decodes token ids.
    package init(decoder: any WhisperDecoding, heads: [WhisperAlignmentHead], specials: WhisperSpecialTokens, text: @escaping ([Int]) -> String) {
        self.decoder = decoder
        self.heads = heads
        self.specials = specials
        self.text = text
    }

    /// The words of `textTokens` with times in seconds from the start of the window whose
    /// cross-attention cache is `cross` and whose audio fills `contentFrames` mel frames, before
    /// punctuation merging and clamps (faster-whisper's `find_alignment`). Tokens beyond what
    /// the text context holds (448 with the three special ones) share the last aligned time.
    package func align(textTokens: [Int], cross: WhisperCrossCache, contentFrames: Int) -> [WhisperWord] {
        let split = WordAlignment.words(textTokens, text: text)
        guard !split.isEmpty else { return [] }
        let aligned = Array(textTokens.prefix(max(0, decoder.dimensions.textContext - 3)))
        let sequence = [specials.startOfTranscript, specials.noTimestamps] + aligned + [specials.endOfText]
        let pass = decoder.forcedPass(tokens: sequence, cross: cross, heads: heads, textVocabularyEnd: specials.endOfText)
        let usedFrames = min(contentFrames / Transcriber.inputStride, pass.frames)
        // Rows from <|notimestamps|> to the last text token: row k + 1 is where text token k is read.
        let rows = aligned.count + 1
        var jumpTimes = [Double](repeating: 0, count: rows)
        if usedFrames > 0 {
            let matrix = WordAlignment.matrix(scores: pass.scores, rows: sequence.count, frames: pass.frames, usedFrames: usedFrames)
            let cost = matrix[usedFrames..<((1 + rows) * usedFrames)].map { -$0 }
            var row = -1
            for step in WordAlignment.dtwPath(cost: cost, rows: rows, columns: usedFrames) where step.row != row {
                row = step.row
                jumpTimes[row] = Double(step.column) * WordAlignment.secondsPerPosition
            }
        }
        var words: [WhisperWord] = []
        var boundary = 0
        for (word, tokens) in split {
            let next = boundary + tokens.count
            let probabilities = pass.nextTokenProbabilities[min(1 + boundary, rows)..<min(1 + next, rows)]
            words.append(WhisperWord(
                start: jumpTimes[min(boundary, rows - 1)], end: jumpTimes[min(next, rows - 1)], word: word,
                probability: probabilities.isEmpty ? 0 : probabilities.reduce(0.0) { $0 + Double($1) } / Double(probabilities.count),
                tokens: tokens))
            boundary = next
        }
        return words
    }

    /// Words for each of a window's segments (`pieces`, times in seconds of the signal), each
    /// segment's start and end moved to its words' as faster-whisper does (or its words cut to
    /// its own times where they run more than half a second past them). `timeOffset` is where
    /// the window starts; `lastSpeech` is the end of the speech before it, updated. Word
    /// times are rounded to 10 ms; words whose text was merged into a neighbour are left out.
    func attach(
        to pieces: inout [Transcriber.Piece], cross: WhisperCrossCache, timeOffset: Double, contentFrames: Int, lastSpeech: inout Double
    ) -> [[WhisperWord]] {
        let perPiece = pieces.map { $0.tokens.filter { $0 < specials.endOfText } }
        var alignment = align(textTokens: Array(perPiece.joined()), cross: cross, contentFrames: contentFrames)
        let (median, maximum) = WordAlignment.clampAtSentenceEnds(&alignment)
        WordAlignment.mergePunctuations(&alignment)
        func rounded(_ t: Double) -> Double { ((timeOffset + t) * 100).rounded() / 100 }
        var index = 0
        var result: [[WhisperWord]] = []
        for p in pieces.indices {
            var words: [WhisperWord] = []
            var saved = 0
            while index < alignment.count && saved < perPiece[p].count {
                var word = alignment[index]
                if !word.word.isEmpty {
                    word.start = rounded(word.start)
                    word.end = rounded(word.end)
                    words.append(word)
                }
                saved += alignment[index].tokens.count
                index += 1
            }
            if !words.isEmpty {
                Self.clampAtBoundaries(&words, piece: &pieces[p], lastSpeech: lastSpeech, median: median, maximum: maximum)
                lastSpeech = pieces[p].end
            }
            result.append(words)
        }
        return result
    }

    /// faster-whisper's clamps at a segment's edges: after a pause, a first (or second) word
    /// longer than `maximum` is cut to it; the segment's start and end become its first and
    /// last words' unless those run more than 0.5 s past them, in which case the word is cut.
    static func clampAtBoundaries(
        _ words: inout [WhisperWord], piece: inout Transcriber.Piece, lastSpeech: Double, median: Double, maximum: Double
    ) {
        let last = words.count - 1
        if words[0].end - lastSpeech > median * 4
            && (words[0].end - words[0].start > maximum || (words.count > 1 && words[1].end - words[0].start > maximum * 2))
        {
            if words.count > 1 && words[1].end - words[1].start > maximum {
                let boundary = max(words[1].end / 2, words[1].end - maximum)
                words[0].end = boundary
                words[1].start = boundary
            }
            words[0].start = max(0, words[0].end - maximum)
        }
        if piece.start < words[0].end && piece.start - 0.5 > words[0].start {
            words[0].start = max(0, min(words[0].end - median, piece.start))
        } else {
            piece.start = words[0].start
        }
        if piece.end > words[last].start && piece.end + 0.5 < words[last].end {
            words[last].end = max(words[last].start + median, piece.end)
        } else {
            piece.end = words[last].end
        }
    }
}
