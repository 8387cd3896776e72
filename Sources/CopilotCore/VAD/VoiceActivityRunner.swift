/// Drives a detector over a stream of samples of any chunking: cuts frames, feeds the
/// detector, shapes segments, and reports each frame and each segment as soon as it is
/// decided. A trailing partial frame (fewer than `frameSamples` samples at the end) is not
/// classified. With `keepAudio`, a segment comes with its samples (pre-roll included), kept
/// in a buffer that holds only the open segment and the pre-roll.
public final class VoiceActivityRunner {
    /// Called for every frame: index and decision.
    public var onFrame: ((Int, VADDecision) throws -> Void)?
    /// Called for every segment, with its samples when `keepAudio` is set.
    public var onSegment: ((SpeechSegment, UnsafeBufferPointer<Float>?) throws -> Void)?

    private let detector: any VoiceActivityDetecting
    private var segmenter: SpeechSegmenter
    private let frameSamples: Int
    private let padSamples: Int
    private let keepAudio: Bool
    private var pending: [Float]
    private var pendingCount = 0
    private var frameIndex = 0
    private var retained: [Float] = []
    private var retainedStart = 0
    private var samplesSeen = 0

    /// A runner for `detector` at `sampleRate` (16 kHz for the detectors here).
    public init(detector: any VoiceActivityDetecting, sampleRate: Int, shaping: SegmentShaping, keepAudio: Bool = false) {
        self.detector = detector
        frameSamples = detector.frameSamples
        segmenter = SpeechSegmenter(frameSamples: frameSamples, sampleRate: sampleRate, shaping: shaping)
        padSamples = shaping.padMs * sampleRate / 1000
        self.keepAudio = keepAudio
        pending = [Float](repeating: 0, count: frameSamples)
    }

    /// Frames classified so far.
    public var framesProcessed: Int { frameIndex }

    /// First sample of the segment being built, if one is open; no later segment starts
    /// before it (nor, with none open, before the next frame).
    public var openSegmentStartSample: Int? { segmenter.openSegmentStartSample }

    /// Consumes samples; calls the callbacks for every frame completed.
    public func feed(_ samples: UnsafeBufferPointer<Float>) throws {
        if keepAudio { retained.append(contentsOf: samples) }
        var offset = 0
        let n = samples.count
        while offset < n {
            if pendingCount == 0, let base = samples.baseAddress, n - offset >= frameSamples {
                try classify(UnsafeBufferPointer(start: base + offset, count: frameSamples))
                offset += frameSamples
                continue
            }
            let take = min(frameSamples - pendingCount, n - offset)
            for i in 0..<take { pending[pendingCount + i] = samples[offset + i] }
            pendingCount += take
            offset += take
            if pendingCount == frameSamples {
                pendingCount = 0
                try pending.withUnsafeBufferPointer { try classify($0) }
            }
        }
    }

    /// Ends the input: closes an open segment.
    public func finish() throws {
        if let segment = segmenter.finish() { try emit(segment) }
    }

    private func classify(_ frame: UnsafeBufferPointer<Float>) throws {
        let decision = detector.process(frame)
        let index = frameIndex
        frameIndex += 1
        samplesSeen = frameIndex * frameSamples
        try onFrame?(index, decision)
        if let segment = segmenter.push(decision) { try emit(segment) }
        if keepAudio { trimRetained() }
    }

    private func emit(_ segment: SpeechSegment) throws {
        guard keepAudio else {
            try onSegment?(segment, nil)
            return
        }
        let lower = max(segment.startSample - retainedStart, 0)
        let upper = min(max(segment.endSample - retainedStart, lower), retained.count)
        try retained.withUnsafeBufferPointer { all in
            try onSegment?(segment, UnsafeBufferPointer(rebasing: all[lower..<upper]))
        }
    }

    /// Drops audio no future segment can need (amortized: only once a second's worth piles up).
    private func trimRetained() {
        let keepFrom = segmenter.openSegmentStartSample.map { $0 - padSamples } ?? (samplesSeen - padSamples)
        let drop = keepFrom - retainedStart
        if drop > 16_000 {
            let count = min(drop, retained.count)
            retained.removeFirst(count)
            retainedStart += count
        }
    }
}
