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
        let runner = VoiceActivityRunner(detector: detector, sampleRate: sampleRate, shaping: Self.shaping)
        var builder = SpeechRegionBuilder(padSamples: Self.padMs * sampleRate / 1000)
        var regions: [Range<Int>] = []
        var frames: [Bool] = []
        frames.reserveCapacity(samples.count / max(detector.frameSamples, 1) + 1)
        runner.onFrame = { _, decision in frames.append(decision.isSpeech) }
        runner.onSegment = { segment, _ in
            if let closed = builder.add(segment) { regions.append(closed) }
        }
        try samples.withUnsafeBufferPointer { try runner.feed($0) }
        try runner.finish()
        if let last = builder.finish(sampleCount: samples.count) { regions.append(last) }
        self.init(regions: regions, speechFrames: frames, frameSamples: detector.frameSamples, sampleCount: samples.count, sampleRate: sampleRate)
    }

    /// The regions and frame decisions of a detector already run.
    package init(regions: [Range<Int>], speechFrames: [Bool], frameSamples: Int, sampleCount: Int, sampleRate: Int) {
        self.regions = regions
        self.speechFrames = speechFrames
        self.frameSamples = frameSamples
        self.sampleCount = sampleCount
        self.sampleRate = sampleRate
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

/// ``SpeechOnlyAudio``'s regions as a detector's segments arrive: each segment padded by
/// `padSamples` on both sides and merged with the region before when they overlap. The last
/// region stays open (a later segment may still reach it) until a segment starts past it,
/// ``close(beforeSegmentsFrom:)`` says none can, or the input ends.
package struct SpeechRegionBuilder {
    /// Padding added on each side of a segment, in samples.
    package let padSamples: Int
    /// The last region, which a later segment may still extend (its end not yet clipped to
    /// the input's length).
    package private(set) var open: Range<Int>?

    /// A builder with no region yet.
    package init(padSamples: Int) {
        self.padSamples = padSamples
    }

    /// Adds `segment`; returns the region it closed, if it starts past the open one.
    package mutating func add(_ segment: SpeechSegment) -> Range<Int>? {
        let start = max(0, segment.startSample - padSamples), end = segment.endSample + padSamples
        guard end > start else { return nil }
        if let last = open, start <= last.upperBound {
            open = last.lowerBound..<max(last.upperBound, end)
            return nil
        }
        defer { open = start..<end }
        return open
    }

    /// Closes the open region when no segment starting at `earliestStart` or later (before
    /// its padding) can reach it; returns it.
    package mutating func close(beforeSegmentsFrom earliestStart: Int) -> Range<Int>? {
        guard let last = open, earliestStart - padSamples > last.upperBound else { return nil }
        open = nil
        return last
    }

    /// Ends the input of `sampleCount` samples: returns the open region, clipped to it.
    package mutating func finish(sampleCount: Int) -> Range<Int>? {
        defer { open = nil }
        guard let last = open, min(last.upperBound, sampleCount) > last.lowerBound else { return nil }
        return last.lowerBound..<min(last.upperBound, sampleCount)
    }
}
