/// What a streamed transcription read and held.
public struct StreamedTranscriptionStatistics: Sendable, Equatable {
    /// Samples of the input, at `sampleRate`.
    public var sampleCount: Int
    /// The most input samples held in memory at once.
    public var peakHeldSamples: Int
    /// Sample rate of the input, in Hz.
    public var sampleRate: Int

    /// Seconds of input.
    public var durationSeconds: Double { Double(sampleCount) / Double(sampleRate) }
    /// The most seconds of input held in memory at once.
    public var peakHeldSeconds: Double { Double(peakHeldSamples) / Double(sampleRate) }
}

extension Transcriber {
    /// Samples asked of the stream per read.
    static let streamBlockSamples = 16_384

    /// Transcribes every 30 s window of `stream` (16 kHz mono) as
    /// ``transcribe(samples:previousTokens:encoding:fallback:maximumTokensPerSecond:bestOf:stopsAtRepetition:speechFraction:shouldStop:progress:onSegment:)``
    /// does with the whole signal read at once, segment for segment, but with memory flat
    /// whatever the input's length: the log-mel features are computed as the audio is read and
    /// kept on disk (``StreamedLogMel``; the clamp needs the maximum of the whole signal before
    /// the first window is encoded), then read back one window at a time as the seek advances.
    public func transcribe(
        stream: AudioStream, progress: (Double, Double) -> Void = { _, _ in }, onSegment: (WhisperSegment) throws -> Void
    ) throws -> StreamedTranscriptionStatistics {
        precondition(stream.sampleRate == WhisperMel.sampleRate, "Transcriber.transcribe(stream:): the stream must be 16 kHz")
        let features = try StreamedLogMel(extractor: mel)
        try Self.forEachBlock(of: stream) { try features.append($0) }
        try features.finish()
        try transcribe(features: features, sampleCount: features.sampleCount, progress: progress, onSegment: onSegment)
        return StreamedTranscriptionStatistics(
            sampleCount: features.sampleCount, peakHeldSamples: features.peakHeldSamples, sampleRate: stream.sampleRate)
    }

    /// Transcribes only the speech `detector` finds in `stream` (16 kHz mono) as
    /// ``transcribe(samples:speech:encoding:progress:onSegment:)`` does with the whole signal
    /// read at once, segment for segment, but as the audio is read: each group of speech
    /// regions is decoded as soon as the next region shows it is complete (or the input ends),
    /// and memory holds only the group being gathered and the samples an open region can
    /// still need (``StreamedSpeechGroups``). `progress(done, total)` counts seconds of input
    /// read against the input's announced length (0 when unknown).
    public func transcribe(
        stream: AudioStream, detector: any VoiceActivityDetecting, encoding: WindowEncoding = .contentThenSilence,
        progress: (Double, Double) -> Void = { _, _ in }, onSegment: (WhisperSegment) throws -> Void
    ) throws -> StreamedTranscriptionStatistics {
        precondition(stream.sampleRate == WhisperMel.sampleRate, "Transcriber.transcribe(stream:detector:): the stream must be 16 kHz")
        let rate = Double(stream.sampleRate)
        let expected = Double(stream.expectedSampleCount ?? 0) / rate
        var context = SpeechGroupContext()
        let groups = StreamedSpeechGroups(
            detector: detector, sampleRate: stream.sampleRate, maximumSamples: windowSamples(sampleRate: stream.sampleRate),
            gapSamples: SpeechGroup.gapSamples(sampleRate: stream.sampleRate))
        func decode(_ group: SpeechGroup, _ joined: [Float], _ speech: SpeechOnlyAudio) throws {
            try transcribe(
                group: group, joined: joined, speech: speech, encoding: encoding, context: &context, progress: { _ in },
                onSegment: onSegment)
            progress(Double(groups.sampleCount) / rate, expected)
        }
        try Self.forEachBlock(of: stream) { try groups.feed($0, onGroup: decode) }
        try groups.finish(onGroup: decode)
        return StreamedTranscriptionStatistics(
            sampleCount: groups.sampleCount, peakHeldSamples: groups.peakHeldSamples, sampleRate: stream.sampleRate)
    }

    /// Calls `body` with each block `stream` reads, to the end.
    static func forEachBlock(of stream: AudioStream, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        var block = [Float](repeating: 0, count: streamBlockSamples)
        try block.withUnsafeMutableBufferPointer { buffer in
            while true {
                let n = try stream.read(into: buffer)
                if n == 0 { return }
                try body(UnsafeBufferPointer(rebasing: buffer[0..<n]))
            }
        }
    }
}

/// ``SpeechGroup``s cut from a signal as it streams in, the same groups, with the same joined
/// samples, as ``SpeechOnlyAudio`` and ``SpeechGroup/groups(_:maximumSamples:gapSamples:)`` make
/// from the whole signal.
///
/// A region is complete once the detector shows no later segment can reach it (past its
/// padding, with no segment open before it); a group, once the next region does not fit in
/// it, or at the end. Memory holds the group being gathered (at most one window, unless a
/// single region is longer), the samples of the open region and the padding a segment yet to
/// come may reach back over, and one bit per detector frame (for the speech fraction).
package final class StreamedSpeechGroups {
    /// Samples fed so far.
    package private(set) var sampleCount = 0
    /// The most samples held at once (the group being gathered plus the samples kept for open
    /// and coming regions).
    package private(set) var peakHeldSamples = 0

    private let sampleRate: Int
    private let frameSamples: Int
    private let maximumSamples: Int
    private let gapSamples: Int
    private let runner: VoiceActivityRunner
    private var builder: SpeechRegionBuilder
    private var frames: [Bool] = []
    private var complete: [Range<Int>] = []
    private var held: [Float] = []
    private var heldStart = 0
    private var group: SpeechGroup?
    private var joined: [Float] = []

    /// Groups of at most `maximumSamples` joined samples, `gapSamples` of silence between two
    /// regions, from `detector`'s segments shaped as ``SpeechOnlyAudio/shaping``.
    package init(detector: any VoiceActivityDetecting, sampleRate: Int, maximumSamples: Int, gapSamples: Int) {
        self.sampleRate = sampleRate
        self.frameSamples = detector.frameSamples
        self.maximumSamples = maximumSamples
        self.gapSamples = gapSamples
        runner = VoiceActivityRunner(detector: detector, sampleRate: sampleRate, shaping: SpeechOnlyAudio.shaping)
        builder = SpeechRegionBuilder(padSamples: SpeechOnlyAudio.padMs * sampleRate / 1000)
        runner.onFrame = { [unowned self] _, decision in self.frames.append(decision.isSpeech) }
        runner.onSegment = { [unowned self] segment, _ in
            if let region = self.builder.add(segment) { self.complete.append(region) }
        }
    }

    /// Feeds the next samples; calls `onGroup` with each group they complete, its joined
    /// samples and the detector's evidence so far.
    package func feed(
        _ samples: UnsafeBufferPointer<Float>, onGroup: (SpeechGroup, [Float], SpeechOnlyAudio) throws -> Void
    ) throws {
        held.append(contentsOf: samples)
        sampleCount += samples.count
        peakHeldSamples = max(peakHeldSamples, held.count + joined.count)
        try runner.feed(samples)
        let earliestStart = runner.openSegmentStartSample ?? runner.framesProcessed * frameSamples
        if let region = builder.close(beforeSegmentsFrom: earliestStart) { complete.append(region) }
        try gather(onGroup: onGroup)
        // Keep what the open region, or a segment still to come with its padding, can need.
        let keepFrom = min(builder.open?.lowerBound ?? .max, max(0, earliestStart - builder.padSamples))
        if keepFrom - heldStart >= Transcriber.streamBlockSamples {
            held.removeFirst(min(keepFrom - heldStart, held.count))
            heldStart = keepFrom
        }
    }

    /// Ends the input: calls `onGroup` with the groups left.
    package func finish(onGroup: (SpeechGroup, [Float], SpeechOnlyAudio) throws -> Void) throws {
        try runner.finish()
        if let region = builder.finish(sampleCount: sampleCount) { complete.append(region) }
        try gather(onGroup: onGroup)
        if let group { try onGroup(group, joined, evidence) }
        group = nil
        joined = []
        held = []
    }

    /// The detector's frames so far, as the whole signal's ``SpeechOnlyAudio`` has them.
    private var evidence: SpeechOnlyAudio {
        SpeechOnlyAudio(regions: [], speechFrames: frames, frameSamples: frameSamples, sampleCount: sampleCount, sampleRate: sampleRate)
    }

    /// Adds the complete regions to the group, handing on each group they complete.
    private func gather(onGroup: (SpeechGroup, [Float], SpeechOnlyAudio) throws -> Void) throws {
        for region in complete {
            precondition(region.lowerBound >= heldStart && region.upperBound <= heldStart + held.count,
                         "StreamedSpeechGroups: region \(region) is not held")
            let samples = held[(region.lowerBound - heldStart)..<(region.upperBound - heldStart)]
            if var last = group, last.joinedCount + gapSamples + region.count <= maximumSamples {
                last.regions.append(region)
                last.joinedStarts.append(last.joinedCount + gapSamples)
                last.joinedCount += gapSamples + region.count
                group = last
                joined.append(contentsOf: repeatElement(0, count: gapSamples))
                joined.append(contentsOf: samples)
            } else {
                if let group { try onGroup(group, joined, evidence) }
                group = SpeechGroup(regions: [region], joinedStarts: [0], joinedCount: region.count)
                joined = Array(samples)
            }
            peakHeldSamples = max(peakHeldSamples, held.count + joined.count)
        }
        complete.removeAll()
    }
}
