import Foundation

/// One word of a segment with its time (`--word-timestamps`), as faster-whisper's `Word`.
public struct WhisperWord: Sendable, Equatable {
    /// Start, in seconds from the start of the audio.
    public var start: Double
    /// End, in seconds from the start of the audio.
    public var end: Double
    /// The word's text, with its leading space and any punctuation merged into it.
    public var word: String
    /// Mean probability of the word's own tokens (punctuation merged in later does not count),
    /// each under the softmax over the text tokens of a forced pass, in 0...1.
    public var probability: Double
    /// The word's text tokens, punctuation merged in included; the tokens of a segment's words
    /// are its text tokens, in order.
    public var tokens: [Int]

    /// Creates a word.
    public init(start: Double, end: Double, word: String, probability: Double, tokens: [Int]) {
        self.start = start
        self.end = end
        self.word = word
        self.probability = probability
        self.tokens = tokens
    }
}

/// The steps of word alignment that need no model, as openai-whisper's `timing.py` and
/// CTranslate2's `align` do them: the attention matrix of the alignment heads, dynamic time
/// warping, word splitting and punctuation merging. Plain loops: the matrix is at most 448
/// tokens by 1500 frames, and one pass per window is small beside the decoder's.
package enum WordAlignment {
    /// Seconds per encoder position (two 10 ms mel frames).
    package static let secondsPerPosition = 0.02
    /// Width of the median filter over frames (faster-whisper's default).
    package static let medianFilterWidth = 7
    /// Punctuation merged into the word after it (faster-whisper's `prepend_punctuations`).
    package static let prependedPunctuation = "\"'“¿([{-"
    /// Punctuation merged into the word before it (faster-whisper's `append_punctuations`).
    package static let appendedPunctuation = "\"'.。,，!！?？:：”)]}、"
    /// Marks after which a long word is cut short (sentence ends).
    static let sentenceEndMarks = ".。!！?？"
    /// Python's `string.punctuation`: a piece made only of one of its runs starts a word.
    static let asciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

    /// The least-cost monotonic path through `cost` (`rows x columns`, row-major), each step
    /// one row down, one column right or both, from (0, 0) to the last cell, as (row, column)
    /// pairs in order. Ties go to the diagonal only when it is strictly cheapest, then up,
    /// else left (CTranslate2's and openai-whisper's `dtw`). O(rows x columns) time and space.
    package static func dtwPath(cost: [Float], rows: Int, columns: Int) -> [(row: Int, column: Int)] {
        precondition(cost.count == rows * columns, "cost must hold rows x columns values")
        guard rows > 0, columns > 0 else { return [] }
        let width = columns + 1
        var total = [Float](repeating: .infinity, count: (rows + 1) * width)
        var trace = [UInt8](repeating: 0, count: (rows + 1) * width)
        total[0] = 0
        for j in 1...columns {
            for i in 1...rows {
                let diagonal = total[(i - 1) * width + j - 1], up = total[(i - 1) * width + j], left = total[i * width + j - 1]
                let (best, step): (Float, UInt8) =
                    diagonal < up && diagonal < left ? (diagonal, 0) : up < diagonal && up < left ? (up, 1) : (left, 2)
                total[i * width + j] = cost[(i - 1) * columns + j - 1] + best
                trace[i * width + j] = step
            }
        }
        var path: [(row: Int, column: Int)] = []
        var i = rows, j = columns
        while i > 0 || j > 0 {
            path.append((i - 1, j - 1))
            // The first row can only have come from the left, the first column from above.
            let step = i == 0 ? 2 : j == 0 ? 1 : trace[i * width + j]
            if step == 0 {
                i -= 1
                j -= 1
            } else if step == 1 {
                i -= 1
            } else {
                j -= 1
            }
        }
        return path.reversed()
    }

    /// `values` through a median filter of odd `width`, the edges mirrored without repeating
    /// the edge value (numpy's and torch's "reflect"); returned unchanged when shorter than
    /// half the width plus one.
    package static func medianFilter(_ values: [Float], width: Int) -> [Float] {
        let half = width / 2, n = values.count
        guard n > half, width > 1 else { return values }
        var out = values
        var window = [Float](repeating: 0, count: width)
        for j in 0..<n {
            for k in -half...half {
                var read = abs(j + k)
                if read >= n { read = 2 * n - read - 2 }
                window[k + half] = values[max(0, read)]
            }
            window.sort()
            out[j] = window[half]
        }
        return out
    }

    /// The alignment matrix (`rows x usedFrames`, row-major) from the pre-softmax scores of each
    /// alignment head (`rows x frames` each): the first `usedFrames` columns softmaxed per row,
    /// each column standardised over the rows (mean 0, population deviation 1), each row median
    /// filtered over frames, then the mean over heads.
    package static func matrix(scores: [[Float]], rows: Int, frames: Int, usedFrames: Int, filterWidth: Int = medianFilterWidth) -> [Float] {
        precondition(usedFrames <= frames, "cannot use more frames than the scores have")
        var sum = [Float](repeating: 0, count: rows * usedFrames)
        guard !scores.isEmpty, usedFrames > 0 else { return sum }
        for head in scores {
            var weights = [Float](repeating: 0, count: rows * usedFrames)
            for r in 0..<rows {
                let row = head[(r * frames)..<(r * frames + usedFrames)]
                let maximum = row.max() ?? 0
                var total: Float = 0
                for (j, v) in row.enumerated() {
                    let e = expf(v - maximum)
                    weights[r * usedFrames + j] = e
                    total += e
                }
                for j in 0..<usedFrames { weights[r * usedFrames + j] /= total }
            }
            for j in 0..<usedFrames {
                var mean: Float = 0
                for r in 0..<rows { mean += weights[r * usedFrames + j] }
                mean /= Float(rows)
                var variance: Float = 0
                for r in 0..<rows { variance += (weights[r * usedFrames + j] - mean) * (weights[r * usedFrames + j] - mean) }
                let deviation = (variance / Float(rows)).squareRoot()
                for r in 0..<rows {
                    let centred = weights[r * usedFrames + j] - mean
                    weights[r * usedFrames + j] = deviation > 0 ? centred / deviation : 0
                }
            }
            for r in 0..<rows {
                let filtered = medianFilter(Array(weights[(r * usedFrames)..<((r + 1) * usedFrames)]), width: filterWidth)
                for j in 0..<usedFrames { sum[r * usedFrames + j] += filtered[j] }
            }
        }
        let count = Float(scores.count)
        return sum.map { $0 / count }
    }

    /// Text tokens cut into words (English): first into the shortest runs that decode to whole
    /// characters (`text` decodes ids, U+FFFD standing for an incomplete character), then runs
    /// joined into a word unless they start with a space or are punctuation (faster-whisper's
    /// `split_tokens_on_spaces`).
    package static func words(_ tokens: [Int], text: ([Int]) -> String) -> [(word: String, tokens: [Int])] {
        var pieces: [(word: String, tokens: [Int])] = []
        var current: [Int] = []
        let full = Array(text(tokens).unicodeScalars)
        var offset = 0
        for token in tokens {
            current.append(token)
            let decoded = Array(text(current).unicodeScalars)
            // Complete unless it holds a U+FFFD the whole text does not have at that place.
            if let index = decoded.firstIndex(of: "\u{FFFD}"), !(offset + index < full.count && full[offset + index] == "\u{FFFD}") {
                continue
            }
            pieces.append((String(String.UnicodeScalarView(decoded)), current))
            offset += decoded.count
            current = []
        }
        if !current.isEmpty { pieces.append((text(current), current)) }
        var words: [(word: String, tokens: [Int])] = []
        for piece in pieces {
            let startsWord = piece.word.hasPrefix(" ") || isPunctuation(piece.word.trimmingWhitespace())
            if startsWord || words.isEmpty {
                words.append(piece)
            } else {
                words[words.count - 1].word += piece.word
                words[words.count - 1].tokens += piece.tokens
            }
        }
        return words
    }

    /// Whether `text` is a run of ASCII punctuation as Python's `text in string.punctuation`
    /// tests it (a substring of it; the empty string is one).
    static func isPunctuation(_ text: String) -> Bool {
        text.isEmpty || asciiPunctuation.contains(text)
    }

    /// Whether `needle` occurs in `haystack` as Python's `needle in haystack` (the empty
    /// string occurs everywhere).
    static func occurs(_ needle: String, in haystack: String) -> Bool {
        needle.isEmpty || haystack.contains(needle)
    }

    /// Merges punctuation into its neighbours (openai-whisper's `merge_punctuations`): a word
    /// that is a space and `prepended` punctuation moves into the word after it, and a word
    /// that is `appended` punctuation into the word before it (unless that one ends with a
    /// space). A merged word keeps its place with empty text and no tokens; times and
    /// probabilities stay where they were.
    package static func mergePunctuations(
        _ words: inout [WhisperWord], prepended: String = prependedPunctuation, appended: String = appendedPunctuation
    ) {
        guard words.count > 1 else { return }
        var i = words.count - 2, j = words.count - 1
        while i >= 0 {
            if words[i].word.hasPrefix(" ") && occurs(words[i].word.trimmingWhitespace(), in: prepended) {
                words[j].word = words[i].word + words[j].word
                words[j].tokens = words[i].tokens + words[j].tokens
                words[i].word = ""
                words[i].tokens = []
            } else {
                j = i
            }
            i -= 1
        }
        i = 0
        j = 1
        while j < words.count {
            if !words[i].word.hasSuffix(" ") && occurs(words[j].word, in: appended) {
                words[i].word += words[j].word
                words[i].tokens += words[j].tokens
                words[j].word = ""
                words[j].tokens = []
            } else {
                i = j
            }
            j += 1
        }
    }

    /// The median word duration (non-zero durations only, at most 0.7 s) and twice it; words
    /// longer than that at a sentence end (the mark itself, or the word after one) are cut to
    /// it (faster-whisper's clamp: attention lingers on a sentence's last mark over a pause).
    package static func clampAtSentenceEnds(_ words: inout [WhisperWord]) -> (median: Double, maximum: Double) {
        let durations = words.map { $0.end - $0.start }.filter { $0 != 0 }.sorted()
        var median = 0.0
        if !durations.isEmpty {
            let middle = durations.count / 2
            median = durations.count % 2 == 1 ? durations[middle] : (durations[middle - 1] + durations[middle]) / 2
        }
        median = min(0.7, median)
        let maximum = median * 2
        if !durations.isEmpty {
            for i in words.indices.dropFirst() where words[i].end - words[i].start > maximum {
                if occurs(words[i].word, in: sentenceEndMarks) {
                    words[i].end = words[i].start + maximum
                } else if occurs(words[i - 1].word, in: sentenceEndMarks) {
                    words[i].start = words[i].end - maximum
                }
            }
        }
        return (median, maximum)
    }
}
