/// The speech of a signal as found by a voice activity detector, concatenated, with the map
/// from the concatenated timeline back to the original one (`copilot transcribe --vad`, like
/// faster-whisper's `vad_filter`): silence is never decoded, timestamps still refer to the input.
public struct SpeechOnlyAudio: Sendable {
    /// One kept region: where it starts in the original and in the concatenation, its length.
    public struct Chunk: Sendable, Equatable {
        public var originalStart: Int
        public var concatenatedStart: Int
        public var count: Int
    }

    /// The concatenated speech samples.
    public let samples: [Float]
    /// The kept regions in order.
    public let chunks: [Chunk]
    /// Sample rate of both timelines.
    public let sampleRate: Int

    /// How speech regions are shaped before they are kept: faster-whisper's VAD defaults
    /// (speech of 250 ms or more, silences under 2 s bridged, 400 ms of padding each side).
    public static let shaping = SegmentShaping(minSpeechMs: 250, minSilenceMs: 2000, padMs: 0)
    /// Padding added on each side of a region, in milliseconds (overlaps are merged).
    public static let padMs = 400

    /// Runs `detector` over `samples` and keeps the padded speech regions.
    public init(samples: [Float], sampleRate: Int, detector: any VoiceActivityDetecting) throws {
        self.sampleRate = sampleRate
        let runner = VoiceActivityRunner(detector: detector, sampleRate: sampleRate, shaping: Self.shaping)
        var regions: [(Int, Int)] = []
        let pad = Self.padMs * sampleRate / 1000
        runner.onSegment = { segment, _ in
            let start = max(0, segment.startSample - pad), end = min(samples.count, segment.endSample + pad)
            guard end > start else { return }
            if let last = regions.last, start <= last.1 {
                regions[regions.count - 1].1 = max(last.1, end)
            } else {
                regions.append((start, end))
            }
        }
        try samples.withUnsafeBufferPointer { try runner.feed($0) }
        try runner.finish()
        var kept: [Float] = []
        var chunks: [Chunk] = []
        for (start, end) in regions {
            chunks.append(Chunk(originalStart: start, concatenatedStart: kept.count, count: end - start))
            kept += samples[start..<end]
        }
        self.samples = kept
        self.chunks = chunks
    }

    /// The original time of `seconds` on the concatenated timeline. An end time exactly at a
    /// boundary belongs to the chunk before it (`isEnd`), as in faster-whisper.
    public func originalTime(_ seconds: Double, isEnd: Bool) -> Double {
        let sample = Int((seconds * Double(sampleRate)).rounded())
        var chosen = chunks.first
        for chunk in chunks {
            if isEnd ? sample > chunk.concatenatedStart : sample >= chunk.concatenatedStart { chosen = chunk } else { break }
        }
        guard let chunk = chosen else { return seconds }
        return Double(chunk.originalStart + (sample - chunk.concatenatedStart)) / Double(sampleRate)
    }

    /// `segment` with its start and end moved to the original timeline.
    public func restore(_ segment: WhisperSegment) -> WhisperSegment {
        var s = segment
        s.start = originalTime(segment.start, isEnd: false)
        s.end = originalTime(segment.end, isEnd: true)
        return s
    }
}
