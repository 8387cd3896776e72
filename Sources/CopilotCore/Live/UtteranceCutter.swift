#if canImport(Glibc)
import Glibc
#endif

/// The audio of one utterance (or of the part heard so far), with its place in the input.
package struct UtteranceAudio: Sendable, Equatable {
    /// The cutter's number for the utterance, from 0, in order of opening.
    package var utterance: Int
    /// Input position of `samples[0]`, in samples (pre-roll included).
    package var startSample: Int
    /// Input position of the first speech frame, in samples.
    package var speechStartSample: Int
    /// Input position just after the last speech frame, in samples (before the post-roll).
    package var speechEndSample: Int
    /// 16 kHz mono samples from `startSample`: pre-roll, speech, bridged pauses, post-roll.
    package var samples: [Float]
    /// Sample rate of the positions, in Hz.
    package var sampleRate: Int

    /// Creates the audio of an utterance.
    package init(
        utterance: Int, startSample: Int, speechStartSample: Int, speechEndSample: Int? = nil, samples: [Float],
        sampleRate: Int
    ) {
        self.utterance = utterance
        self.startSample = startSample
        self.speechStartSample = speechStartSample
        self.speechEndSample = speechEndSample ?? startSample + samples.count
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Input position just after the last sample, in samples.
    package var endSample: Int { startSample + samples.count }
    /// Start of the speech in seconds of input audio.
    package var start: Double { Double(speechStartSample) / Double(sampleRate) }
    /// End of the speech in seconds of input audio.
    package var end: Double { Double(speechEndSample) / Double(sampleRate) }
    /// The samples of the speech alone (no pre-roll or post-roll).
    package var speech: ArraySlice<Float> {
        let from = min(max(0, speechStartSample - startSample), samples.count)
        return samples[from..<min(max(from, speechEndSample - startSample), samples.count)]
    }
}

/// What the cutter asks of the transcription worker.
package enum UtteranceEvent: Sendable, Equatable {
    /// An utterance goes on: its audio so far, for a partial hypothesis.
    case partial(UtteranceAudio)
    /// Silence started after speech: the audio up to the end of the speech, which becomes the
    /// final if the silence lasts (decode it now to answer early).
    case speculate(UtteranceAudio)
    /// Speech came back (or the utterance was dropped): a speculation on this utterance is
    /// void.
    case resumed(utterance: Int)
    /// The utterance is over: its whole audio, to be transcribed and committed.
    case final(UtteranceAudio)
}

/// Cuts a stream of 16 kHz mono samples into utterances with a streaming voice activity
/// detector, as early as each is decided.
///
/// Frames of `detector.frameSamples` go through the detector and a ``SpeechSegmenter``
/// (minimum speech, minimum silence). The last `preRollMs` of audio before speech are kept in
/// a ``FrameRing``, so an utterance starts with them and a soft first syllable the detector
/// missed is not clipped. While an utterance lasts it is kept whole (at most
/// `maximumUtteranceSeconds`, about 1 MB); an utterance that reaches that length is cut at the
/// quietest frame of its last `cutSearchSeconds` and goes on as a new utterance from there,
/// so no sample is lost or repeated at the cut and each part fits one 30 s Whisper window.
///
/// Not thread-safe: one thread feeds it. Nothing allocates per frame except the utterance
/// buffer's occasional growth and the copies handed out in events.
package final class UtteranceCutter {
    /// Frame length in samples.
    package let frameSamples: Int
    /// Sample rate, in Hz.
    package let sampleRate: Int
    /// Samples of audio before the speech kept in front of each utterance.
    package let preRollSamples: Int
    /// Samples of the silence after the speech kept at its end (whole frames, less than the
    /// minimum silence), so the decoder hears the speech end.
    package let postRollSamples: Int
    /// Distance between partial requests, in samples of speech; 0 asks for none.
    package let partialSamples: Int
    /// Speech heard before the first partial request, in samples (the later ones follow each
    /// `partialSamples`).
    package let firstPartialSamples: Int
    /// Until a partial of the utterance has been shown (``partialShown(utterance:endSample:)``),
    /// partials are asked for this often, in samples of speech (at most `partialSamples`): a
    /// first hypothesis of a fifth of a second is often empty, and waiting a whole
    /// `partialSamples` for the next one was most of the delay of the first partial.
    package let partialRetrySamples: Int
    /// Silence after the post-roll before the VAD closes an utterance, in samples: how long
    /// after a speculation is asked for its final can first be printed.
    package let closeDelaySamples: Int
    /// Length at which a running utterance is cut, in samples.
    package let maximumUtteranceSamples: Int
    /// Span searched for the quietest frame before a forced cut, in samples.
    package let cutSearchSamples: Int

    private let detector: any VoiceActivityDetecting
    private var segmenter: SpeechSegmenter
    private let minSpeechSamples: Int
    private let preRoll: FrameRing
    private var pending: [Float]
    private var pendingCount = 0
    private var position = 0
    private var previousEndSample = 0
    private var nextUtterance = 0

    // The open utterance.
    private var isOpen = false
    private var utterance = 0
    private var samples: [Float] = []
    private var frameEnergies: [Float] = []
    private var startSample = 0
    private var speechStartSample = 0
    private var speechEndSample = 0
    private var inSilence = false
    private var speculated = false
    /// Speech heard (from the speech start to the end of the audio) at which the next
    /// partial is due.
    private var nextPartialHeard = 0
    private var partialShownInUtterance = false

    /// Counts of what was decided, for statistics.
    package private(set) var forcedCuts = 0

    /// A cutter over `detector` (16 kHz), shaped by `shaping`'s minimum speech and silence
    /// (its `padMs` is ignored: pre-roll comes from `preRollMs`).
    package init(
        detector: any VoiceActivityDetecting, shaping: SegmentShaping, sampleRate: Int = WhisperMel.sampleRate,
        preRollMs: Int, postRollMs: Int = 0, partialMs: Int?, firstPartialMs: Int? = nil, partialRetryMs: Int? = nil,
        maximumUtteranceSeconds: Double = 28, cutSearchSeconds: Double = 8
    ) throws {
        self.detector = detector
        frameSamples = detector.frameSamples
        self.sampleRate = sampleRate
        var unpadded = shaping
        unpadded.padMs = 0
        segmenter = SpeechSegmenter(frameSamples: frameSamples, sampleRate: sampleRate, shaping: unpadded)
        minSpeechSamples = shaping.minSpeechMs * sampleRate / 1000
        preRollSamples = max(0, preRollMs) * sampleRate / 1000
        let minSilenceFrames = max(1, (shaping.minSilenceMs * sampleRate / 1000 + frameSamples - 1) / frameSamples)
        postRollSamples = min(max(0, postRollMs) * sampleRate / 1000 / frameSamples, minSilenceFrames - 1) * frameSamples
        // The speculation is asked for at the first silent frame at the earliest.
        closeDelaySamples = max(0, minSilenceFrames * frameSamples - max(postRollSamples, frameSamples))
        partialSamples = partialMs.map { max(1, $0) * sampleRate / 1000 } ?? 0
        firstPartialSamples = firstPartialMs.map { max(1, $0) * sampleRate / 1000 } ?? partialSamples
        partialRetrySamples = min(partialSamples, partialRetryMs.map { max(1, $0) * sampleRate / 1000 } ?? partialSamples)
        maximumUtteranceSamples = max(2 * frameSamples, Int(maximumUtteranceSeconds * Double(sampleRate)))
        cutSearchSamples = min(maximumUtteranceSamples / 2, max(frameSamples, Int(cutSearchSeconds * Double(sampleRate))))
        let preRollFrames = preRollSamples / frameSamples + 2
        preRoll = try FrameRing(
            capacityBytes: max(1, preRollFrames * frameSamples * MemoryLayout<Float>.stride), maximumFrames: preRollFrames)
        pending = [Float](repeating: 0, count: frameSamples)
        samples.reserveCapacity(maximumUtteranceSamples + frameSamples)
        frameEnergies.reserveCapacity(maximumUtteranceSamples / frameSamples + 2)
    }

    /// Samples fed so far.
    package var samplesSeen: Int { position + pendingCount }

    /// Consumes samples of any chunking; calls `emit` for each event they decide, in order.
    package func feed(_ input: UnsafeBufferPointer<Float>, emit: (UtteranceEvent) throws -> Void) rethrows {
        var offset = 0
        while offset < input.count {
            if pendingCount == 0, let base = input.baseAddress, input.count - offset >= frameSamples {
                try process(UnsafeBufferPointer(start: base + offset, count: frameSamples), emit: emit)
                offset += frameSamples
                continue
            }
            let take = min(frameSamples - pendingCount, input.count - offset)
            for i in 0..<take { pending[pendingCount + i] = input[offset + i] }
            pendingCount += take
            offset += take
            if pendingCount == frameSamples {
                pendingCount = 0
                try pending.withUnsafeBufferPointer { try process($0, emit: emit) }
            }
        }
    }

    /// Ends the input: closes an open utterance (the unclassified tail of the last frame
    /// included while it was speech) and emits its final.
    package func finish(emit: (UtteranceEvent) throws -> Void) rethrows {
        if isOpen && !inSilence && pendingCount > 0 {
            pending.withUnsafeBufferPointer { samples.append(contentsOf: $0[0..<pendingCount]) }
            speechEndSample = startSample + samples.count
        }
        let available = startSample + samples.count
        position += pendingCount
        pendingCount = 0
        guard isOpen else { return }
        if segmenter.finish() != nil {
            try close(endSample: min(speechEndSample + postRollSamples, available), emit: emit)
        } else {
            try drop(emit: emit)
        }
    }

    private func process(_ frame: UnsafeBufferPointer<Float>, emit: (UtteranceEvent) throws -> Void) rethrows {
        let frameStart = position
        let decision = detector.process(frame)
        let closed = segmenter.push(decision)
        let openNow = segmenter.openSegmentStartSample != nil
        position += frameSamples
        if !isOpen {
            if openNow { open(frame, at: frameStart) }
        } else {
            append(frame)
            if decision.isSpeech {
                if speculated { try emit(.resumed(utterance: utterance)) }
                inSilence = false
                speculated = false
                speechEndSample = frameStart + frameSamples
            }
            if !decision.isSpeech { inSilence = true }
            if let segment = closed {
                try close(endSample: segment.endSample + postRollSamples, emit: emit)
            } else if !openNow {
                try drop(emit: emit)  // shorter than the minimum speech
            } else if inSilence && !speculated && position - speechEndSample >= postRollSamples {
                speculated = true
                try emit(.speculate(audio(upTo: speechEndSample + postRollSamples)))
            } else if samples.count >= maximumUtteranceSamples {
                try cut(emit: emit)
            } else if !inSilence {
                try requestPartialIfDue(emit: emit)
            }
        }
        preRoll.push(UnsafeRawBufferPointer(frame), captureTime: Double(frameStart), duration: Double(frameSamples))
    }

    /// Starts an utterance at the speech frame `frame` (input position `frameStart`), with
    /// the pre-roll that does not reach back into the previous utterance.
    private func open(_ frame: UnsafeBufferPointer<Float>, at frameStart: Int) {
        isOpen = true
        utterance = nextUtterance
        nextUtterance += 1
        samples.removeAll(keepingCapacity: true)
        frameEnergies.removeAll(keepingCapacity: true)
        let earliest = max(frameStart - preRollSamples, previousEndSample)
        startSample = frameStart
        for index in 0..<preRoll.frameCount {
            let timing = preRoll.timing(at: index)
            let frameFirst = Int(timing.captureTime)
            guard frameFirst >= earliest && frameFirst < frameStart else { continue }
            if samples.isEmpty { startSample = frameFirst }
            preRoll.withBytes(ofFrame: index) { a, b in appendFrame(a, b) }
        }
        append(frame)
        speechStartSample = frameStart
        speechEndSample = frameStart + frameSamples
        inSilence = false
        speculated = false
        nextPartialHeard = firstPartialSamples
        partialShownInUtterance = false
    }

    /// Appends one frame given as one or two byte slices (two when it wraps the pre-roll
    /// store), with its mean energy.
    private func appendFrame(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) {
        var sum: Float = 0
        var count = 0
        for part in [first, second] where part.count > 0 {
            let floats = part.bindMemory(to: Float.self)
            for x in floats { sum += x * x }
            count += floats.count
            samples.append(contentsOf: floats)
        }
        if count > 0 { frameEnergies.append(sum / Float(count)) }
    }

    private func append(_ frame: UnsafeBufferPointer<Float>) {
        appendFrame(UnsafeRawBufferPointer(frame), UnsafeRawBufferPointer(start: nil, count: 0))
    }

    private func audio(upTo endSample: Int) -> UtteranceAudio {
        let count = max(0, min(samples.count, endSample - startSample))
        return UtteranceAudio(
            utterance: utterance, startSample: startSample, speechStartSample: speechStartSample,
            speechEndSample: min(speechEndSample, startSample + count), samples: Array(samples[0..<count]),
            sampleRate: sampleRate)
    }

    private func close(endSample: Int, emit: (UtteranceEvent) throws -> Void) rethrows {
        let final = audio(upTo: endSample)
        isOpen = false
        previousEndSample = final.endSample
        try emit(.final(final))
    }

    private func drop(emit: (UtteranceEvent) throws -> Void) rethrows {
        isOpen = false
        if speculated { try emit(.resumed(utterance: utterance)) }
    }

    /// Tells the cutter that the worker showed a partial of `utterance` covering the audio up
    /// to input position `endSample`: from then on partials follow each `partialSamples` of
    /// speech after that audio (before, each `partialRetrySamples`). Ignored when `utterance`
    /// is no longer the open one.
    package func partialShown(utterance shown: Int, endSample: Int) {
        guard isOpen, shown == utterance, !partialShownInUtterance else { return }
        partialShownInUtterance = true
        nextPartialHeard = max(nextPartialHeard, endSample - speechStartSample + partialSamples)
    }

    /// Partials follow the speech: the first `firstPartialSamples` after its start, then one
    /// each `partialRetrySamples` until one has been shown, then each `partialSamples`, once
    /// the utterance is long enough that the segmenter can no longer drop it.
    private func requestPartialIfDue(emit: (UtteranceEvent) throws -> Void) rethrows {
        guard partialSamples > 0, speechEndSample - speechStartSample >= minSpeechSamples else { return }
        let heard = startSample + samples.count - speechStartSample
        guard heard >= nextPartialHeard else { return }
        // The next one on the grid of `step` from the first, so the rhythm does not drift by
        // the frames' rounding.
        let step = partialShownInUtterance ? partialSamples : partialRetrySamples
        nextPartialHeard += ((heard - nextPartialHeard) / step + 1) * step
        try emit(.partial(audio(upTo: startSample + samples.count)))
    }

    /// Ends a too-long utterance just before the quietest frame of its last
    /// `cutSearchSamples` and continues with the rest (that frame first) as a new utterance.
    private func cut(emit: (UtteranceEvent) throws -> Void) rethrows {
        let frames = frameEnergies.count
        let searchFrames = max(1, cutSearchSamples / frameSamples)
        var quietest = frames - 1
        for index in max(1, frames - searchFrames)..<frames where frameEnergies[index] < frameEnergies[quietest] {
            quietest = index
        }
        // Frame `index` of the utterance starts at sample `index * frameSamples` (pre-roll
        // frames are whole frames too), so cutting at a frame start keeps that true.
        let cutAt = min(samples.count, quietest * frameSamples)
        forcedCuts += 1
        let head = audio(upTo: startSample + cutAt)
        try emit(.final(head))
        previousEndSample = head.endSample
        samples.removeSubrange(0..<cutAt)
        frameEnergies.removeSubrange(0..<min(quietest, frameEnergies.count))
        startSample += cutAt
        speechStartSample = startSample
        speechEndSample = max(speechEndSample, startSample)
        utterance = nextUtterance
        nextUtterance += 1
        inSilence = false
        speculated = false
        nextPartialHeard = firstPartialSamples
        partialShownInUtterance = false
    }
}
