/// One subtitle cue: a time span and its text (lines separated by "\n").
public struct SubtitleCue: Sendable, Equatable {
    /// Start and end in seconds.
    public var start: Double
    public var end: Double
    /// The cue's text.
    public var text: String

    /// Creates a cue.
    public init(start: Double, end: Double, text: String) {
        self.start = start
        self.end = end
        self.text = text
    }
}

/// Subtitle cues re-cut from words (`--word-timestamps` with `--max-line-width` and
/// `--max-line-count`), the way openai-whisper's `SubtitlesWriter` cuts them: words fill a
/// line up to `maxLineWidth` characters, then a new line starts. With a line count, a cue
/// holds up to that many lines and may run across segments, ending early at a pause of more
/// than 3 s; with only a width, each segment stays one cue, wrapped. Fed segment by segment,
/// so cues can be written as they are decoded. O(words).
public final class WordCueCutter {
    /// Characters per line at most (a longer word gets a line of its own).
    public let maxLineWidth: Int
    /// Lines per cue at most; nil keeps one cue per segment.
    public let maxLineCount: Int?
    /// Seconds of silence before a word that start a new cue (when cues span segments).
    package static let longPauseSeconds = 3.0

    private var preservesSegments: Bool { maxLineCount == nil }
    private var pending: [WhisperWord] = []
    private var lineLength = 0
    private var lineCount = 1
    private var lastStart: Double?

    /// A cutter with `maxLineWidth` characters per line and at most `maxLineCount` lines per cue.
    public init(maxLineWidth: Int, maxLineCount: Int?) {
        self.maxLineWidth = maxLineWidth
        self.maxLineCount = maxLineCount
    }

    /// Adds `segment`'s words; returns the cues they complete.
    public func add(_ segment: WhisperSegment) -> [SubtitleCue] {
        var done: [SubtitleCue] = []
        for (i, original) in (segment.words ?? []).enumerated() {
            var word = original
            let last = lastStart ?? word.start
            let longPause = !preservesSegments && word.start - last > Self.longPauseSeconds
            let length = word.word.unicodeScalars.count
            let hasRoom = lineLength + length <= maxLineWidth
            let segmentBreak = i == 0 && !pending.isEmpty && preservesSegments
            if lineLength > 0 && hasRoom && !longPause && !segmentBreak {
                lineLength += length
            } else {
                word.word = word.word.trimmingWhitespace()
                if !pending.isEmpty && maxLineCount != nil && (longPause || lineCount >= maxLineCount ?? 0) || segmentBreak {
                    done += finish()
                } else if lineLength > 0 {
                    lineCount += 1
                    word.word = "\n" + word.word
                }
                lineLength = word.word.trimmingWhitespace().unicodeScalars.count
            }
            pending.append(word)
            lastStart = word.start
        }
        return done
    }

    /// The cue still open, if any (call at the end of the transcript).
    public func finish() -> [SubtitleCue] {
        guard let first = pending.first, let last = pending.last else { return [] }
        let cue = SubtitleCue(start: first.start, end: last.end, text: pending.map(\.word).joined())
        pending = []
        lineCount = 1
        return [cue]
    }
}
