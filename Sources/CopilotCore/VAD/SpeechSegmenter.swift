/// One detected speech segment, in seconds from the start of the input.
public struct SpeechSegment: Equatable, Sendable {
    /// Index of the segment (0, 1, ...), in output order.
    public var index: Int
    /// Start in samples (after pre-roll), inclusive.
    public var startSample: Int
    /// End in samples, exclusive: the end of the last speech frame.
    public var endSample: Int
    /// Mean speech probability over the frames from the first to the last speech frame
    /// (bridged silent frames included).
    public var meanProbability: Double
    /// Sample rate the sample positions refer to.
    public var sampleRate: Int

    /// Creates a segment.
    public init(index: Int, startSample: Int, endSample: Int, meanProbability: Double, sampleRate: Int) {
        self.index = index
        self.startSample = startSample
        self.endSample = endSample
        self.meanProbability = meanProbability
        self.sampleRate = sampleRate
    }

    /// Start in seconds.
    public var start: Double { Double(startSample) / Double(sampleRate) }
    /// End in seconds.
    public var end: Double { Double(endSample) / Double(sampleRate) }

    /// File name for `--split`: zero-padded index and start time, e.g. `0003_12.340.wav`.
    public var splitFileName: String {
        let index = String(self.index)
        return String(repeating: "0", count: max(0, 4 - index.count)) + index + "_" + VADOutputFormat.seconds(start) + ".wav"
    }
}

/// How frame decisions are shaped into segments.
public struct SegmentShaping: Equatable, Sendable {
    /// Segments shorter than this (first to last speech frame) are dropped.
    public var minSpeechMs: Int
    /// Silence that ends a segment; shorter gaps are bridged.
    public var minSilenceMs: Int
    /// Pre-roll added before each segment's first speech frame (never before the previous
    /// segment's end or the input's start).
    public var padMs: Int

    /// Built-in defaults (also in config/copilot.toml `[vad]`).
    public static let defaults = SegmentShaping(minSpeechMs: 100, minSilenceMs: 300, padMs: 0)

    /// Creates shaping options (milliseconds, each 0 ... 600000).
    public init(minSpeechMs: Int, minSilenceMs: Int, padMs: Int) {
        self.minSpeechMs = minSpeechMs
        self.minSilenceMs = minSilenceMs
        self.padMs = padMs
    }

    /// Throws `VADError.invalidDuration` for a value outside 0 ... 600000 ms.
    public func validate() throws {
        for (name, ms) in [("--min-speech-ms", minSpeechMs), ("--min-silence-ms", minSilenceMs), ("--pad-ms", padMs)]
        where !(0...600_000).contains(ms) {
            throw VADError.invalidDuration(name: name, ms: ms)
        }
    }
}

/// Turns a stream of per-frame decisions into segments, as early as they are decided: a
/// segment is emitted when the silence after it reaches `minSilenceMs` (rounded up to whole
/// frames, at least one frame), so its line appears at most min-silence plus one frame after
/// the speech ends; `finish()` closes a segment still open at the end of the input.
public struct SpeechSegmenter {
    /// Frame length in samples.
    public let frameSamples: Int
    /// Sample rate.
    public let sampleRate: Int
    private let minSpeechSamples: Int
    private let minSilenceFrames: Int
    private let padSamples: Int

    private var frameIndex = 0
    private var openStartFrame: Int?
    private var lastSpeechFrame = 0
    private var probabilitySum = 0.0
    private var probabilityFrames = 0
    private var speechProbabilitySum = 0.0
    private var speechProbabilityFrames = 0
    private var silentFrames = 0
    private var previousEndSample = 0
    private var emitted = 0

    /// A segmenter for frames of `frameSamples` at `sampleRate`.
    public init(frameSamples: Int, sampleRate: Int, shaping: SegmentShaping) {
        self.frameSamples = frameSamples
        self.sampleRate = sampleRate
        minSpeechSamples = shaping.minSpeechMs * sampleRate / 1000
        let silenceSamples = shaping.minSilenceMs * sampleRate / 1000
        minSilenceFrames = max(1, (silenceSamples + frameSamples - 1) / frameSamples)
        padSamples = shaping.padMs * sampleRate / 1000
    }

    /// First sample of the segment being built (before pre-roll), if one is open.
    public var openSegmentStartSample: Int? { openStartFrame.map { $0 * frameSamples } }

    /// Index of the next frame `push` expects.
    public var framesSeen: Int { frameIndex }

    /// Adds the next frame's decision; returns the segment this frame completes, if any.
    public mutating func push(_ decision: VADDecision) -> SpeechSegment? {
        defer { frameIndex += 1 }
        if openStartFrame == nil {
            guard decision.isSpeech else { return nil }
            openStartFrame = frameIndex
            probabilitySum = 0
            probabilityFrames = 0
        }
        // Silent frames bridged between speech frames count toward the mean too.
        probabilitySum += Double(decision.probability)
        probabilityFrames += 1
        if decision.isSpeech {
            lastSpeechFrame = frameIndex
            speechProbabilitySum = probabilitySum
            speechProbabilityFrames = probabilityFrames
            silentFrames = 0
            return nil
        }
        silentFrames += 1
        return silentFrames >= minSilenceFrames ? close() : nil
    }

    /// Closes a segment still open at the end of the input.
    public mutating func finish() -> SpeechSegment? {
        openStartFrame == nil ? nil : close()
    }

    private mutating func close() -> SpeechSegment? {
        guard let startFrame = openStartFrame else { return nil }
        openStartFrame = nil
        silentFrames = 0
        let speechStart = startFrame * frameSamples
        let end = (lastSpeechFrame + 1) * frameSamples
        guard end - speechStart >= minSpeechSamples else { return nil }
        let start = max(speechStart - padSamples, previousEndSample)
        previousEndSample = end
        let mean = speechProbabilitySum / Double(max(speechProbabilityFrames, 1))
        defer { emitted += 1 }
        return SpeechSegment(index: emitted, startSample: start, endSample: end, meanProbability: mean, sampleRate: sampleRate)
    }
}
