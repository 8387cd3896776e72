import Foundation

/// One transcribed segment, as faster-whisper yields it.
public struct WhisperSegment: Sendable, Equatable {
    /// Index in the transcript, from 0.
    public var id: Int
    /// Start and end, in seconds from the start of the audio.
    public var start: Double
    public var end: Double
    /// Decoded text (usually with a leading space).
    public var text: String
    /// Token ids, timestamps included.
    public var tokens: [Int]
    /// Average log-probability of the window's tokens.
    public var avgLogProb: Double
    /// Probability of no speech in the window.
    public var noSpeechProb: Double
    /// Temperature that produced it.
    public var temperature: Double
    /// Compression ratio of the window's text.
    public var compressionRatio: Double
    /// The words with their times (``TranscriptionOptions/wordTimestamps``), else nil.
    public var words: [WhisperWord]?

    /// Creates a segment.
    public init(
        id: Int, start: Double, end: Double, text: String, tokens: [Int], avgLogProb: Double, noSpeechProb: Double,
        temperature: Double, compressionRatio: Double, words: [WhisperWord]? = nil
    ) {
        self.words = words
        self.id = id
        self.start = start
        self.end = end
        self.text = text
        self.tokens = tokens
        self.avgLogProb = avgLogProb
        self.noSpeechProb = noSpeechProb
        self.temperature = temperature
        self.compressionRatio = compressionRatio
    }
}

/// Transcription settings beyond one window's search.
public struct TranscriptionOptions: Sendable, Equatable {
    /// Per-window search settings.
    public var decoding = WhisperDecodingOptions()
    /// Prompt each window with the text of the previous ones.
    public var conditionOnPreviousText = true
    /// Stop conditioning after a window decoded above this temperature.
    public var promptResetOnTemperature = 0.5
    /// Give each segment its words with their times (``WordAligner``: one more decoder pass
    /// per window; needs the model's alignment heads). As in faster-whisper, segment times
    /// then follow their words, and the next window starts at the last word's end.
    public var wordTimestamps = false

    /// faster-whisper's defaults (greedy).
    public init() {}
}

/// How much audio the encoder sees per window.
public enum WindowEncoding: String, CaseIterable, Sendable {
    /// Every window padded to 30 s (3000 mel frames), as faster-whisper and training do.
    case padded
    /// Only the window's content, rounded up to whole seconds plus one second of zero
    /// features (at least two seconds): the encoder's work follows the audio's length. Whisper
    /// never saw a shorter window in training, so accuracy is measured, not guaranteed: on
    /// the live corpora of benchmarks/RESULTS.md it matched the padded window. For short
    /// utterances (the live transcript).
    case content
    /// As `content`, but the frames past the content are silence (the features zero audio
    /// gives, the clamp floor: what openai-whisper's padding of the audio shows the model)
    /// instead of zero features (faster-whisper's padding of the features, which reads as a
    /// faint noise).
    case contentThenSilence = "content-then-silence"

    /// Mel frames encoded for a window of `contentFrames`, at most `windowFrames`.
    public func encodedFrames(contentFrames: Int, windowFrames: Int) -> Int {
        switch self {
        case .padded:
            return windowFrames
        case .content, .contentThenSilence:
            let second = Transcriber.framesPerSecond
            let rounded = (max(contentFrames, 0) + second - 1) / second * second + second
            return min(windowFrames, max(rounded, 2 * second))
        }
    }
}

/// Long-form transcription the way faster-whisper does it: log-mel features of the whole
/// signal, 30 s windows starting at `seek`, each encoded once and decoded with fallback,
/// segments split on timestamp pairs, `seek` moved to the last complete pair.
public final class Transcriber {
    /// Mel frames per second (10 ms hop).
    package static let framesPerSecond = 100
    /// Mel frames per timestamp step (conv2 halves the frame rate).
    static let inputStride = 2

    /// The audio encoder.
    package let encoder: any WhisperEncoding
    /// The per-window decoder (search, suppression, fallback).
    package let windowDecoder: WhisperWindowDecoder
    public let mel: any MelExtracting
    public let options: TranscriptionOptions
    /// Token ids to text (ids >= 50256 dropped).
    let detokenize: ([Int]) -> String
    /// Times words when ``TranscriptionOptions/wordTimestamps`` is on and the model has
    /// alignment heads; nil otherwise.
    package let wordAligner: WordAligner?
    private var crossDecoder: any WhisperDecoding { windowDecoder.decoder }

    /// A transcriber from its stages; `detokenize` turns token ids into text (ids >= 50256
    /// dropped); `alignmentHeads` (the model's) are needed for word timestamps.
    package init(
        encoder: any WhisperEncoding, windowDecoder: WhisperWindowDecoder, mel: any MelExtracting,
        options: TranscriptionOptions, alignmentHeads: [WhisperAlignmentHead]? = nil, detokenize: @escaping ([Int]) -> String
    ) {
        self.encoder = encoder
        self.windowDecoder = windowDecoder
        self.mel = mel
        self.options = options
        self.detokenize = detokenize
        self.wordAligner = options.wordTimestamps ? alignmentHeads.map {
            WordAligner(decoder: windowDecoder.decoder, heads: $0, specials: windowDecoder.specials, text: detokenize)
        } : nil
    }

    /// The optimized pipeline for `model`: OpenBLAS encoder and decoder on `threads` threads
    /// (copilot's own workers; OpenBLAS's pool is set to one thread, see ``BLAS/gemm``), FFT
    /// log-mel, the model's tokenizer.
    public convenience init(model: WhisperModel, options: TranscriptionOptions, threads: Int) {
        BLAS.setThreadCount(1)
        let decoder = WhisperDecoder(weights: model.weights, threads: threads)
        let windowDecoder = WhisperWindowDecoder(
            decoder: decoder, specials: model.tokenizer.special, suppressIds: model.suppressIds,
            suppressIdsAtBegin: model.suppressIdsAtBegin, options: options.decoding)
        let tokenizer = model.tokenizer
        self.init(
            encoder: WhisperEncoder(weights: model.weights, threads: threads), windowDecoder: windowDecoder,
            mel: LogMelSpectrogram(threadCount: threads), options: options, alignmentHeads: model.alignmentHeads,
            detokenize: { tokenizer.decode($0) })
    }

    /// Transcribes 16 kHz mono `samples`, calling `onSegment` for each segment in order and
    /// `progress(done, total)` in seconds of audio after each window.
    ///
    /// `previousTokens` (the tokens of text already transcribed before these samples, as
    /// faster-whisper's `initial_prompt`) prompt the first window when
    /// `conditionOnPreviousText` is on; `encoding` says how much of each window is encoded;
    /// `fallback: false` decodes each window once at the first temperature (no retries);
    /// `maximumTokensPerSecond` bounds each window's tokens to that many per second of its
    /// content, plus 16 (a hallucinated loop then costs little); `bestOf` overrides the
    /// candidates sampled per fallback temperature; `stopsAtRepetition` ends each window's
    /// search at its first loop, keeping the text before the repeat as the whole window's
    /// (for quick hypotheses: nothing is decoded again from inside the window).
    /// `speechFraction(start, end)` (seconds of `samples`), the share of a span a voice
    /// activity detector heard as speech, lets a window whose text compresses too well skip
    /// the temperature fallback when its repeats are spoken (``isSpokenRepetition(_:timeOffset:segmentFrames:speechFraction:)``).
    /// Every timestamp is clamped to the end of `samples`. `shouldStop` is asked between the stages
    /// and before each decoder step; once it answers `true`, `CancellationError` is thrown
    /// (segments already passed to `onSegment` stay passed).
    public func transcribe(
        samples: [Float], previousTokens: [Int] = [], encoding: WindowEncoding = .padded, fallback: Bool = true,
        maximumTokensPerSecond: Double? = nil, bestOf: Int? = nil, stopsAtRepetition: Bool = false,
        speechFraction: ((_ startSeconds: Double, _ endSeconds: Double) -> Double)? = nil, shouldStop: () -> Bool = { false },
        progress: (Double, Double) -> Void = { _, _ in }, onSegment: (WhisperSegment) throws -> Void
    ) throws {
        try transcribe(
            features: mel.logMelSpectrogram(samples), sampleCount: samples.count, previousTokens: previousTokens,
            encoding: encoding, fallback: fallback, maximumTokensPerSecond: maximumTokensPerSecond, bestOf: bestOf,
            stopsAtRepetition: stopsAtRepetition, speechFraction: speechFraction, shouldStop: shouldStop,
            progress: progress, onSegment: onSegment)
    }

    /// ``transcribe(samples:previousTokens:encoding:fallback:maximumTokensPerSecond:bestOf:stopsAtRepetition:speechFraction:shouldStop:progress:onSegment:)``
    /// from the log-mel `features` of a signal of `sampleCount` samples, read a window at a
    /// time (``StreamedLogMel`` keeps a long signal's on disk).
    package func transcribe(
        features: some MelFeatureWindows, sampleCount: Int, previousTokens: [Int] = [], encoding: WindowEncoding = .padded,
        fallback: Bool = true, maximumTokensPerSecond: Double? = nil, bestOf: Int? = nil, stopsAtRepetition: Bool = false,
        speechFraction: ((_ startSeconds: Double, _ endSeconds: Double) -> Double)? = nil, shouldStop: () -> Bool = { false },
        progress: (Double, Double) -> Void = { _, _ in }, onSegment: (WhisperSegment) throws -> Void
    ) throws {
        // Features are clamped to 8 decades below their maximum, then mapped by (x + 4) / 4:
        // the floor, where silence lies, is 2 below the largest value.
        let silence = features.maximumFeature - 2
        let windowFrames = encoder.dimensions.melFrames
        let contentFrames = features.frameCount - 1
        let secondsPerFrame = 1 / Double(Self.framesPerSecond)
        var seek = 0
        var allTokens: [Int] = options.conditionOnPreviousText ? previousTokens : []
        var promptResetSince = 0
        var nextId = 0
        var lastSpeech = 0.0  // end of the last word so far (word timestamps)
        let total = Double(max(contentFrames, 0)) * secondsPerFrame
        let duration = Double(sampleCount) / Double(WhisperMel.sampleRate)
        while seek < contentFrames {
            // With a detector's evidence (a group of speech regions), less than a second left
            // after a window is the padding after the last words, or the end of a word whose
            // segment closed early; decoded alone it comes out as a stray word ("Stay." after
            // "... the next day.") or a loop (whisper.cpp stops there too).
            if speechFraction != nil, seek > 0, contentFrames - seek < Self.framesPerSecond { break }
            let timeOffset = Double(seek) * secondsPerFrame
            let segmentSize = min(windowFrames, contentFrames - seek)
            let segmentDuration = Double(segmentSize) * secondsPerFrame
            let encodedFrames = encoding.encodedFrames(contentFrames: segmentSize, windowFrames: windowFrames)
            let window = try features.features(startFrame: seek, frameCount: segmentSize)
                .window(startFrame: 0, frameCount: encodedFrames, padding: encoding == .contentThenSilence ? silence : 0)
            if shouldStop() { throw CancellationError() }
            let encoded = encoder.encode(mel: window.values, frameCount: encodedFrames)
            if shouldStop() { throw CancellationError() }
            let cross = crossDecoder.crossCache(encoderOutput: encoded)
            let previous = options.conditionOnPreviousText ? allTokens[promptResetSince...] : []
            let prompt = windowDecoder.prompt(previousTokens: previous)
            let result = try windowDecoder.decodeWithFallback(
                cross: cross, prompt: prompt, fallback: fallback,
                maximumTokens: maximumTokensPerSecond.map { Int(($0 * segmentDuration).rounded(.up)) + 16 }, bestOf: bestOf,
                stopsAtRepetition: stopsAtRepetition, shouldStop: shouldStop, text: detokenize,
                acceptsRepetition: speechFraction.map { fraction in
                    { self.isSpokenRepetition($0, timeOffset: timeOffset, segmentFrames: segmentSize, speechFraction: fraction) }
                } ?? { _ in false })
            let decoding = options.decoding
            if let noSpeech = decoding.noSpeechThreshold, result.noSpeechProb > noSpeech,
                !(decoding.logProbThreshold.map { result.avgLogProb > $0 } ?? false)
            {
                seek += segmentSize  // silence
                progress(Double(seek) * secondsPerFrame, total)
                continue
            }
            let seekBefore = seek
            var (pieces, advance): ([Piece], Int) = result.stoppedAtRepetition
                ? ([(timeOffset, timeOffset + segmentDuration, result.tokens)], segmentSize)
                : split(result.tokens, timeOffset: timeOffset, segmentFrames: segmentSize)
            seek += advance
            // Timestamps past the end of the audio (the window's padding) are clamped; a segment
            // that starts there has no audio behind it and is dropped. With a detector's
            // evidence, so is a segment with almost no speech behind it: a loop into the silence
            // after the speech (tiny.en said a short sentence again over the 300 ms after it).
            func keeps(_ piece: Piece) -> Bool {
                let start = min(piece.start, duration), end = min(piece.end, duration)
                if isLoop(piece, of: result) { return false }
                return start < end && (speechFraction.map { $0(start, end) >= Self.minimumSpeechFraction } ?? true)
            }
            let words = wordAligner.map { aligner in
                // Words are timed on the kept segments only: a dropped loop's tokens would take
                // the audio's frames from them (400 tokens of a loop past the audio squeezed the
                // second sentence of a kept segment into one instant).
                let ranPastTheAudio = pieces.contains { $0.start >= duration }
                pieces = pieces.filter(keeps)
                let words = aligner.attach(to: &pieces, cross: cross, timeOffset: timeOffset, contentFrames: segmentSize, lastSpeech: &lastSpeech)
                let lastEnd = zip(pieces, words).reversed().lazy.compactMap { $0.1.last?.end }.first ?? pieces.last?.end
                if let lastEnd { lastSpeech = lastEnd }
                // As faster-whisper: the next window starts where the last word ends; unless the
                // window's text ran on past its audio, which is then all transcribed (starting
                // again at the last word decoded the end of the audio a second time).
                if ranPastTheAudio {
                    seek = seekBefore + segmentSize
                } else if let lastEnd, lastEnd > timeOffset, !result.stoppedAtRepetition, !endsWithSingleTimestamp(result.tokens) {
                    seek = Int((lastEnd * Double(Self.framesPerSecond)).rounded())
                }
                return words
            }
            if seek <= seekBefore { seek = seekBefore + segmentSize }  // a <|0.00|><|0.00|> pair must not stall
            for (index, piece) in pieces.enumerated() {
                let text = detokenize(piece.tokens)
                if piece.start == piece.end || text.trimmingWhitespace().isEmpty || !keeps(piece) { continue }
                let start = min(piece.start, duration), end = min(piece.end, duration)
                allTokens += piece.tokens
                try onSegment(
                    WhisperSegment(
                        id: nextId, start: start, end: end, text: text, tokens: piece.tokens,
                        avgLogProb: result.avgLogProb, noSpeechProb: result.noSpeechProb,
                        temperature: result.temperature, compressionRatio: result.compressionRatio,
                        words: words.map { Self.clamped($0[index], to: duration) }))
                nextId += 1
            }
            if !options.conditionOnPreviousText || result.temperature > options.promptResetOnTemperature {
                promptResetSince = allTokens.count
            }
            progress(Double(min(seek, contentFrames)) * secondsPerFrame, total)
        }
    }

    /// A window's tokens cut into segments at each pair of consecutive timestamps (times in
    /// seconds of the whole signal), and the frames to seek past: to the last complete pair,
    /// or the whole window when the tokens end with a single timestamp or hold no pair (as
    /// faster-whisper does).
    func split(_ tokens: [Int], timeOffset: Double, segmentFrames: Int) -> (pieces: [Piece], seekFrames: Int) {
        let specials = windowDecoder.specials
        func seconds(_ timestamp: Int) -> Double {
            Double(timestamp - specials.timestampBegin) * WhisperSpecialTokens.timestampStepSeconds
        }
        let singleTimestampEnding = endsWithSingleTimestamp(tokens)
        var consecutive: [Int] = []
        for i in tokens.indices.dropFirst() where specials.isTimestamp(tokens[i]) && specials.isTimestamp(tokens[i - 1]) {
            consecutive.append(i)
        }
        guard !consecutive.isEmpty else {
            var duration = Double(segmentFrames) / Double(Self.framesPerSecond)
            if let last = tokens.last(where: specials.isTimestamp), last != specials.timestampBegin {
                duration = seconds(last)
            }
            return ([(timeOffset, timeOffset + duration, tokens)], segmentFrames)
        }
        var pieces: [Piece] = []
        if singleTimestampEnding { consecutive.append(tokens.count) }
        var lastSlice = 0
        for current in consecutive {
            let sliced = Array(tokens[lastSlice..<current])
            pieces.append((timeOffset + seconds(sliced[0]), timeOffset + seconds(sliced[sliced.count - 1]), sliced))
            lastSlice = current
        }
        let seekFrames = singleTimestampEnding ? segmentFrames : (tokens[lastSlice - 1] - specials.timestampBegin) * Self.inputStride
        return (pieces, seekFrames)
    }

    /// Whether `tokens` end with a text token and one timestamp (the window's speech runs on).
    func endsWithSingleTimestamp(_ tokens: [Int]) -> Bool {
        let specials = windowDecoder.specials
        return tokens.count >= 2 && !specials.isTimestamp(tokens[tokens.count - 2]) && specials.isTimestamp(tokens[tokens.count - 1])
    }

    /// `words` with every time clamped to `duration` (the window's padding lies past the audio).
    static func clamped(_ words: [WhisperWord], to duration: Double) -> [WhisperWord] {
        words.map { word in
            var word = word
            word.start = min(word.start, duration)
            word.end = min(word.end, duration)
            return word
        }
    }

    /// The least share of a segment's time a detector must hear as speech for the segment to
    /// be kept, when the detector's evidence is given: a real sentence lies mostly on speech.
    package static let minimumSpeechFraction = 0.2

    /// Whether `piece` of the window `result` is a decoding loop: the fallback ladder found no
    /// text for the window that compresses less than the threshold, and this segment's own
    /// text does not either ("week, week, week, ..." for 600 characters over the last 0.8 s of
    /// a group, the best of the ladder by log-probability). Such a segment is never printed;
    /// the window's other segments are.
    func isLoop(_ piece: Piece, of result: WhisperWindowResult) -> Bool {
        guard let threshold = options.decoding.compressionRatioThreshold, result.compressionRatio > threshold,
            let ratio = try? WhisperWindowDecoder.compressionRatio(detokenize(piece.tokens))
        else { return false }
        return ratio > threshold
    }

    /// One segment of a window: start and end in seconds, its tokens with their timestamps.
    typealias Piece = (start: Double, end: Double, tokens: [Int])

    /// Whether a window whose text compresses too well is speech said again (a sentence
    /// repeated in the room) rather than a decoding loop, judged on the segments that will be
    /// kept (those starting inside the audio with speech behind them): when their text no
    /// longer compresses too well, the loop lay only in what is dropped (tiny.en said a
    /// sentence a fourth time into the silence after it); otherwise they must be two or more,
    /// none repetitive by itself, each inside the window's audio, no faster than 30 characters
    /// a second (about twice espeak's and a fast talker's rate), and each with speech behind it
    /// (`speechFraction` at least one half). A loop fails one of these: it repeats with no
    /// audio behind it, past the audio, or inside one segment. Nothing kept is no proof of
    /// anything: the fallback runs.
    func isSpokenRepetition(
        _ result: WhisperWindowResult, timeOffset: Double, segmentFrames: Int, speechFraction: (Double, Double) -> Double
    ) -> Bool {
        let end = timeOffset + Double(segmentFrames) / Double(Self.framesPerSecond)
        let threshold = options.decoding.compressionRatioThreshold ?? .infinity
        let kept = split(result.tokens, timeOffset: timeOffset, segmentFrames: segmentFrames).pieces
            .filter { $0.start < end && speechFraction($0.start, min($0.end, end)) >= Self.minimumSpeechFraction }
            .map { (start: $0.start, end: $0.end, text: detokenize($0.tokens)) }
        guard !kept.isEmpty else { return false }
        if let ratio = try? WhisperWindowDecoder.compressionRatio(kept.map(\.text).joined()), ratio <= threshold { return true }
        return Self.isSpokenRepetition(kept, audioEnd: end, compressionRatioThreshold: threshold, speechFraction: speechFraction)
    }

    /// The rule of ``isSpokenRepetition(_:timeOffset:segmentFrames:speechFraction:)`` over
    /// segments already cut and decoded (times in seconds; `audioEnd` is where the window's
    /// audio ends).
    package static func isSpokenRepetition(
        _ segments: [(start: Double, end: Double, text: String)], audioEnd: Double, compressionRatioThreshold: Double,
        speechFraction: (Double, Double) -> Double
    ) -> Bool {
        guard segments.count >= 2 else { return false }
        for segment in segments {
            let text = segment.text.trimmingWhitespace()
            let seconds = segment.end - segment.start
            guard !text.isEmpty, seconds > 0, segment.end <= audioEnd + 0.5,
                Double(text.count) / seconds <= 30,
                (try? WhisperWindowDecoder.compressionRatio(text)).map({ $0 <= compressionRatioThreshold }) ?? false,
                speechFraction(segment.start, segment.end) >= 0.5
            else { return false }
        }
        return true
    }
}
