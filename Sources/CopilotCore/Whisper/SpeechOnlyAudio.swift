/// Where a voice activity detector finds speech in a signal (`copilot transcribe`'s default,
/// like WhisperX's VAD cut): the padded speech regions, the only audio decoded (see
/// ``SpeechGroup``: no segment is placed across the silence between two of them), and the
/// detector's frame decisions, so a transcript can be checked against the audio behind it.
public struct SpeechOnlyAudio: Sendable {
    /// The padded speech regions of the input, in samples, in order, never overlapping.
    public let regions: [Range<Int>]
    /// The detector's decision for each of its frames, in order.
    public let speechFrames: [Bool]
    /// Samples per detector frame.
    public let frameSamples: Int
    /// Samples in the input.
    public let sampleCount: Int
    /// Sample rate of the input.
    public let sampleRate: Int

    /// How speech is shaped into regions: speech of 250 ms or more (faster-whisper's VAD
    /// default), silences under one second bridged (faster-whisper bridges two, which lets a
    /// region, and so a segment, span a pause of almost two seconds).
    public static let shaping = SegmentShaping(minSpeechMs: 250, minSilenceMs: 1000, padMs: 0)
    /// Padding added on each side of a region, in milliseconds (overlaps are merged): the
    /// detector's decision lags the first and last phonemes.
    public static let padMs = 300

    /// Runs `detector` over `samples` and keeps the padded speech regions.
    public init(samples: [Float], sampleRate: Int, detector: any VoiceActivityDetecting) throws {
        self.sampleRate = sampleRate
        self.sampleCount = samples.count
        self.frameSamples = detector.frameSamples
        let runner = VoiceActivityRunner(detector: detector, sampleRate: sampleRate, shaping: Self.shaping)
        var regions: [Range<Int>] = []
        var frames: [Bool] = []
        frames.reserveCapacity(samples.count / max(detector.frameSamples, 1) + 1)
        let pad = Self.padMs * sampleRate / 1000
        runner.onFrame = { _, decision in frames.append(decision.isSpeech) }
        runner.onSegment = { segment, _ in
            let start = max(0, segment.startSample - pad), end = min(samples.count, segment.endSample + pad)
            guard end > start else { return }
            if let last = regions.last, start <= last.upperBound {
                regions[regions.count - 1] = last.lowerBound..<max(last.upperBound, end)
            } else {
                regions.append(start..<end)
            }
        }
        try samples.withUnsafeBufferPointer { try runner.feed($0) }
        try runner.finish()
        self.regions = regions
        self.speechFrames = frames
    }

    /// Seconds of audio in the input.
    public var durationSeconds: Double { Double(sampleCount) / Double(sampleRate) }

    /// The fraction of the detector's frames in `startSeconds ..< endSeconds` (of the input)
    /// that are speech: 0 for an empty or out-of-range span. O(frames in the span).
    public func speechFraction(fromSeconds startSeconds: Double, toSeconds endSeconds: Double) -> Double {
        let secondsPerFrame = Double(frameSamples) / Double(sampleRate)
        let first = max(0, Int((startSeconds / secondsPerFrame).rounded(.down)))
        let last = min(speechFrames.count, Int((endSeconds / secondsPerFrame).rounded(.up)))
        guard last > first else { return 0 }
        var speech = 0
        for i in first..<last where speechFrames[i] { speech += 1 }
        return Double(speech) / Double(last - first)
    }
}
