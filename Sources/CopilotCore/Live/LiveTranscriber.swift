#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// How fast the input is read.
public enum LivePace: String, CaseIterable, Sendable {
    /// As fast as it comes: a file as fast as it decodes; a pipe or a device at its own pace.
    case none
    /// Never faster than real time: a file behaves like a microphone (20 ms chunks on
    /// absolute deadlines, so sleeps do not drift).
    case realtime
}

/// Text of one utterance as the transcriber found it.
public struct UtteranceTranscript: Sendable, Equatable {
    /// The text, trimmed; empty when the utterance held no speech.
    public var text: String
    /// Token ids of the text (timestamps included), the next utterances' prompt.
    public var tokens: [Int]
    /// Highest fallback temperature used; above 0.5 the prompt is reset, as offline.
    public var temperature: Double
    /// Highest gzip compression ratio of its windows' text (a looping hypothesis scores high).
    public var compressionRatio: Double
    /// Mean log probability of its text tokens (segments weighted by their tokens), the
    /// decoder's confidence; nil when there is no text.
    public var avgLogProb: Double?

    /// Creates a transcript.
    public init(text: String, tokens: [Int], temperature: Double, compressionRatio: Double = 0, avgLogProb: Double? = nil) {
        self.text = text
        self.tokens = tokens
        self.temperature = temperature
        self.compressionRatio = compressionRatio
        self.avgLogProb = avgLogProb
    }
}

/// Turns the audio of one utterance into text: the live pipeline's speech-to-text stage.
public protocol UtteranceTranscribing: AnyObject {
    /// Transcribes 16 kHz mono `samples`, prompted with `previousTokens` (the text committed
    /// before), encoding `encoding`'s share of each window. `fallbackCandidates` 0 asks for
    /// one quick greedy pass (partials) that also stops at the first loop of its text,
    /// keeping one copy; n > 0 for the temperature fallback with n samples per temperature
    /// above 0. Once `shouldStop` answers `true` (it is polled between
    /// decoder steps), the work is dropped and `CancellationError` is thrown.
    func transcribeUtterance(
        _ samples: [Float], previousTokens: [Int], encoding: WindowEncoding, fallbackCandidates: Int,
        shouldStop: () -> Bool
    ) throws -> UtteranceTranscript
}

extension Transcriber: UtteranceTranscribing {
    /// One utterance through the offline algorithm (30 s windows, fallback, no-speech test),
    /// its segments joined.
    public func transcribeUtterance(
        _ samples: [Float], previousTokens: [Int], encoding: WindowEncoding, fallbackCandidates: Int,
        shouldStop: () -> Bool
    ) throws -> UtteranceTranscript {
        var text = ""
        var tokens: [Int] = []
        var temperature = 0.0
        var compressionRatio = 0.0
        var logProbSum = 0.0
        var logProbTokens = 0
        // Speech runs at about 3 words (5 tokens) a second; 12 a second leaves room for
        // timestamps and fast talkers while a looping hypothesis stops early.
        try transcribe(
            samples: samples, previousTokens: previousTokens, encoding: encoding, fallback: fallbackCandidates > 0,
            maximumTokensPerSecond: 12, bestOf: max(1, fallbackCandidates), stopsAtRepetition: fallbackCandidates == 0,
            shouldStop: shouldStop
        ) { segment in
            text += segment.text
            tokens += segment.tokens
            temperature = max(temperature, segment.temperature)
            compressionRatio = max(compressionRatio, segment.compressionRatio)
            logProbSum += segment.avgLogProb * Double(max(1, segment.tokens.count))
            logProbTokens += max(1, segment.tokens.count)
        }
        return UtteranceTranscript(
            text: text.trimmingWhitespace(), tokens: tokens, temperature: temperature, compressionRatio: compressionRatio,
            avgLogProb: logProbTokens > 0 ? logProbSum / Double(logProbTokens) : nil)
    }
}

/// Settings of the live pipeline (`copilot transcribe --live`).
public struct LiveTranscriptionOptions: Sendable, Equatable {
    /// How fast the input is read.
    public var pace = LivePace.none
    /// Distance between partial hypotheses, in ms of speech; `nil`: finals only.
    public var partialMs: Int?
    /// Speech heard before the first partial, in ms (so the first hypothesis comes sooner
    /// than `partialMs`; a larger value counts as `partialMs`); `nil`: `partialMs`.
    public var firstPartialMs: Int? = 200
    /// Until an utterance's first partial has text, ask again after this much more speech,
    /// in ms (a hypothesis of the first 200 ms is often empty); `nil`: `partialMs`.
    public var partialRetryMs: Int? = 100
    /// Audio kept before the detected speech start, in ms.
    public var preRollMs = 300
    /// Silence kept after the end of speech, in ms (whole VAD frames, below the minimum
    /// silence); the speculative decode starts once it has arrived. With the window padded
    /// by silence (`contentThenSilence`) the finals were the same with 0, 30 and 90 ms on
    /// both latency corpora (and 90 as accurate as 270), so one 30 ms frame: the decode
    /// starts at the first silent frame (benchmarks/RESULTS.md, live section).
    public var postRollMs = 30
    /// Samples handed from the reader to the ring at once, in ms (20 ms like a capture period).
    public var chunkMs = 20
    /// Audio the reader's ring holds, in seconds; under back-pressure the reader waits.
    public var ringSeconds = 30
    /// How much later than the VAD's decision a final may come so that a partial almost done
    /// when the speech ends is still shown, in ms. A speculation that arrives while a partial
    /// runs stops it unless the partial is expected to end in time for the speculation to be
    /// done this long after the VAD closes the utterance (the final cannot be printed before
    /// that anyway). Dropping them all wasted partials 90% done and left the longest gaps
    /// between events, before each final (benchmarks/RESULTS.md, live section).
    public var partialFinishSlackMs = 60
    /// Finals allowed to wait for the worker before the cutter waits.
    public var maximumPendingFinals = 4
    /// A longer utterance is cut (at its quietest frame) so each part fits one window.
    public var maximumUtteranceSeconds = 28.0
    /// How much of the window finals (and their speculative decodes) encode: by default the
    /// utterance's length, measured as accurate as the padded window on the latency corpus
    /// and several times faster, followed by silence features rather than zero ones (the WER
    /// then moved far less with where the VAD cut; benchmarks/RESULTS.md, live section).
    public var finalEncoding = WindowEncoding.contentThenSilence
    /// How much of the window partials encode.
    public var partialEncoding = WindowEncoding.contentThenSilence
    /// Candidates sampled per fallback temperature for a final (offline: 5). One keeps the
    /// slowest final near a second on noisy speech instead of seven, at the same accuracy on
    /// the latency corpus (benchmarks/RESULTS.md, live section).
    public var fallbackCandidates = 1
    /// A partial whose text compresses better than this (gzip ratio) is a hallucinated loop
    /// ("Sun... Sun... Sun...") and is not shown; finals retry at a higher temperature instead.
    public var partialCompressionRatioLimit = 2.4
    /// A final with more words than this per second of the utterance's speech is not printed
    /// (see ``SpeakingRate``); `nil`: no check. Partials are not checked: the first one comes
    /// after 200 ms of speech while Whisper also hears the pre-roll, and checking them held
    /// back the first partial of 15 of the latency corpus's utterances (p50 503 ms against 315).
    public var maximumWordsPerSecond: Double? = SpeakingRate.defaultMaximumWordsPerSecond
    /// A final whose speech has a weaker voicing than this is several voices at once
    /// (babble) and is not printed (see ``Voicing``); `nil`: no check. Partials are not
    /// checked, as for the speaking rate.
    public var minimumVoicingStrength: Double? = Voicing.defaultMinimumStrength
    /// Prompt each utterance with the text committed before it. Off by default: prompted
    /// with the previous utterance, tiny.en often repeats it instead of transcribing a short
    /// or noisy one (measured: WER 0.24 against 0.11 without).
    public var conditionOnPreviousText = false
    /// A live input (pipe, device) that delivers nothing for this long ends with an error;
    /// `nil` waits for ever.
    public var stallSeconds: Double? = 10
    /// Ctrl-C ends the input: the last utterance is still transcribed and printed.
    public var stopOnInterrupt = false

    /// The defaults above.
    public init() {}
}

/// Errors of the live pipeline.
public enum LiveTranscriptionError: Error, LocalizedError, Equatable {
    /// A live input delivered nothing for `seconds`.
    case inputStalled(input: String, seconds: Double)
    /// A setting is out of range (name, value, what is accepted).
    case invalidSetting(name: String, value: String, expected: String)

    public var errorDescription: String? {
        switch self {
        case .inputStalled(let input, let seconds):
            "no audio from \(input) for \(LiveTranscriptEvent.seconds(seconds)) s; check that the producer is still running, or raise --stall-seconds (0 waits for ever)"
        case .invalidSetting(let name, let value, let expected):
            "\(name) \(value) is out of range; use \(expected)"
        }
    }
}

/// Microphone (or stream) to text while people talk: the live pipeline.
///
/// Three threads: a reader pulls the input (paced to real time if asked) in 20 ms chunks into
/// an ``SPSCRing`` with the `block` policy, so no sample is ever lost; the calling thread
/// drains the ring through an ``UtteranceCutter`` (streaming VAD, pre-roll, forced cuts of
/// long utterances) and hands its events to an ``UtteranceQueue``; a worker thread transcribes
/// jobs from the queue while audio keeps flowing, and calls `onEvent` for each partial and
/// final. When the silence after speech starts, the worker decodes the utterance at once
/// (speculatively); if the silence lasts, that result is the final, which then appears as the
/// VAD closes the utterance rather than one decode later. Finals are deterministic: the same
/// audio gives the same finals at any pace. The end of the input, ``stop()`` and Ctrl-C
/// (with `stopOnInterrupt`) close the last utterance and print it before ``run(stream:onEvent:)``
/// returns; an input error is thrown only after that.
public final class LiveTranscriber: @unchecked Sendable {
    /// The settings.
    public let options: LiveTranscriptionOptions
    private let transcriber: any UtteranceTranscribing
    private let makeCutter: () throws -> UtteranceCutter
    private let stopRequested = Atomic<Bool>(false)
    private let streamLock = NSLock()
    private var currentStream: AudioStream?

    /// A pipeline transcribing with `transcriber` and cutting with `detector` shaped by
    /// `shaping` (minimum speech and silence).
    public init(
        transcriber: any UtteranceTranscribing, detector: any VoiceActivityDetecting, shaping: SegmentShaping,
        options: LiveTranscriptionOptions
    ) throws {
        if let partialMs = options.partialMs, !(50...10_000).contains(partialMs) {
            throw LiveTranscriptionError.invalidSetting(name: "--partial-ms", value: String(partialMs), expected: "50...10000 ms")
        }
        if let firstPartialMs = options.firstPartialMs, !(30...10_000).contains(firstPartialMs) {
            throw LiveTranscriptionError.invalidSetting(name: "--first-partial-ms", value: String(firstPartialMs), expected: "30...10000 ms")
        }
        if !(0...2_000).contains(options.partialFinishSlackMs) {
            throw LiveTranscriptionError.invalidSetting(name: "partial finish slack", value: String(options.partialFinishSlackMs), expected: "0...2000 ms")
        }
        if let retryMs = options.partialRetryMs, !(30...10_000).contains(retryMs) {
            throw LiveTranscriptionError.invalidSetting(name: "partial retry", value: String(retryMs), expected: "30...10000 ms")
        }
        if !(0...2_000).contains(options.postRollMs) {
            throw LiveTranscriptionError.invalidSetting(name: "--post-roll-ms", value: String(options.postRollMs), expected: "0...2000 ms (less than the VAD's min_silence_ms is used)")
        }
        if !(0...2_000).contains(options.preRollMs) {
            throw LiveTranscriptionError.invalidSetting(name: "--pre-roll-ms", value: String(options.preRollMs), expected: "0...2000 ms")
        }
        if let stall = options.stallSeconds, !(stall > 0 && stall.isFinite) {
            throw LiveTranscriptionError.invalidSetting(name: "--stall-seconds", value: String(stall), expected: "a positive number of seconds, or 0 to wait for ever")
        }
        self.transcriber = transcriber
        self.options = options
        makeCutter = {
            try UtteranceCutter(
                detector: detector, shaping: shaping, preRollMs: options.preRollMs, postRollMs: options.postRollMs,
                partialMs: options.partialMs, firstPartialMs: options.firstPartialMs.map { min($0, options.partialMs ?? $0) },
                partialRetryMs: options.partialRetryMs, maximumUtteranceSeconds: options.maximumUtteranceSeconds)
        }
    }

    /// Ends the input as Ctrl-C does: the audio so far is still transcribed.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        streamLock.lock()
        let stream = currentStream
        streamLock.unlock()
        stream?.stop()
    }

    /// Runs the pipeline over `stream` (16 kHz mono) to its end, calling `onEvent` (on the
    /// worker thread) for each event in order. Returns the statistics; rethrows the first
    /// error of the input, the transcriber or `onEvent` once every final decided before it
    /// was delivered (after an `onEvent` error, nothing more is delivered). `trace`, when
    /// given, gets a ``LiveJobRecord`` as each job is queued and as each is done with (one
    /// call at a time, from the cutter's or the worker's thread).
    public func run(
        stream: AudioStream, trace: ((LiveJobRecord) -> Void)? = nil, onEvent: @escaping (LiveTranscriptEvent) throws -> Void
    ) throws -> LiveStatistics {
        guard stream.sampleRate == WhisperMel.sampleRate else {
            throw AudioError.invalidTargetRate(rate: stream.sampleRate)
        }
        let cutter = try makeCutter()
        let rate = stream.sampleRate
        let ring = try SPSCRing<Float>(minimumCapacity: max(1, options.ringSeconds) * rate, policy: .block)
        let queue = UtteranceQueue(maximumPendingFinals: options.maximumPendingFinals)
        let state = LiveRunState(startNs: LiveClock.nowNs(), selfPaced: options.pace == .realtime, trace: trace)
        streamLock.lock()
        currentStream = stream
        streamLock.unlock()
        defer {
            streamLock.lock()
            currentStream = nil
            streamLock.unlock()
        }
        // A live stream already ends itself on Ctrl-C (``AudioStream/stopOnInterrupt()``); a
        // second `signal(SIGINT, SIG_IGN)` here would replace the handler libdispatch
        // installed for it, so only a file read at real-time pace gets one from here.
        let interrupt = options.stopOnInterrupt && !stream.isLive ? installInterruptHandler() : nil
        defer {
            if let interrupt {
                interrupt.cancel()
                signal(SIGINT, SIG_DFL)
            }
        }
        let streamBox = UncheckedSendableBox(stream)
        let reader = try WorkerThread { [self] in
            self.read(streamBox.value, into: ring, state: state)
        }
        let watchdog = stream.isLive ? options.stallSeconds.map { startWatchdog(stream: stream, state: state, seconds: $0) } : nil
        defer { watchdog?.cancel() }
        let worker: WorkerThread
        let onEventBox = UncheckedSendableBox(onEvent)
        do {
            let closeDelaySeconds = Double(cutter.closeDelaySamples) / Double(rate)
            worker = try WorkerThread { [self] in
                self.work(
                    queue: queue, closeDelaySeconds: closeDelaySeconds, state: state, onEvent: onEventBox.value, ring: ring)
            }
        } catch {
            ring.close()
            reader.join()
            throw error
        }
        var chunk = [Float](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBufferPointer { ring.read(into: $0) }
            if n == 0 { break }
            if let shown = state.takeShownPartial() { cutter.partialShown(utterance: shown.utterance, endSample: shown.endSample) }
            chunk.withUnsafeBufferPointer { all in
                cutter.feed(UnsafeBufferPointer(rebasing: all[0..<n])) { event in
                    state.traceQueued(event)
                    queue.submit(event)
                }
            }
        }
        cutter.finish { event in
            state.traceQueued(event)
            queue.submit(event)
        }
        queue.finish()
        worker.join()
        reader.join()
        var statistics = state.statistics
        statistics.inputSeconds = Double(cutter.samplesSeen) / Double(rate)
        statistics.skippedPartials = queue.skippedPartials
        statistics.peakPendingFinals = queue.peakPendingFinals
        statistics.forcedCuts = cutter.forcedCuts
        let ringStatistics = ring.statistics
        statistics.ringPeakMs = ringStatistics.peakFill * 1000 / rate
        statistics.ringCapacityMs = ringStatistics.capacity * 1000 / rate
        statistics.overruns = ringStatistics.overruns + stream.sourceOverruns
        statistics.paced = options.pace == .realtime || stream.isLive
        if let error = state.firstError { throw error }
        return statistics
    }

    // MARK: Reader

    private func read(_ stream: AudioStream, into ring: SPSCRing<Float>, state: LiveRunState) {
        let chunkSamples = max(1, options.chunkMs * stream.sampleRate / 1000)
        var chunk = [Float](repeating: 0, count: chunkSamples)
        var total = 0
        let startNs = state.startNs
        var anchor = InputClockAnchor()
        do {
            while !stopRequested.load(ordering: .acquiring) {
                state.readingSinceNs.store(LiveClock.nowNs(), ordering: .releasing)
                let n = try chunk.withUnsafeMutableBufferPointer { try stream.read(into: $0) }
                state.readingSinceNs.store(0, ordering: .releasing)
                if n == 0 { break }
                if options.pace == .realtime {
                    LiveClock.sleep(untilNs: startNs + UInt64((Double(total + n) / Double(stream.sampleRate) * 1e9).rounded()))
                } else {
                    anchor.observe(returnNs: LiveClock.nowNs(), samples: total + n, rate: stream.sampleRate)
                    if let start = anchor.startNs { state.inputStartNs.store(start, ordering: .relaxed) }
                }
                let written = chunk.withUnsafeBufferPointer { ring.write(from: UnsafeBufferPointer(rebasing: $0[0..<n])) }
                total += n
                if written < n { break }  // the run was cancelled
            }
        } catch {
            state.record(error)
        }
        state.readingSinceNs.store(0, ordering: .releasing)
        ring.close()
    }

    private func startWatchdog(stream: AudioStream, state: LiveRunState, seconds: Double) -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: .global())
        let limitNs = UInt64(seconds * 1e9)
        let box = UncheckedSendableBox(stream)
        timer.schedule(deadline: .now() + 0.25, repeating: 0.25)
        timer.setEventHandler {
            let since = state.readingSinceNs.load(ordering: .acquiring)
            if since != 0 && LiveClock.nowNs() &- since > limitNs {
                state.record(LiveTranscriptionError.inputStalled(input: box.value.description, seconds: seconds))
                box.value.stop()
            }
        }
        timer.resume()
        return timer
    }

    private func installInterruptHandler() -> DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [weak self] in
            self?.stop()
            signal(SIGINT, SIG_DFL)  // a second Ctrl-C kills, as usual
        }
        source.resume()
        return source
    }

    // MARK: Worker

    /// The worker: takes jobs from `queue` until it is drained. `closeDelaySeconds` is how
    /// long after a speculation is asked for the VAD can close its utterance.
    private func work(
        queue: UtteranceQueue, closeDelaySeconds: Double, state: LiveRunState,
        onEvent: (LiveTranscriptEvent) throws -> Void, ring: SPSCRing<Float>
    ) {
        var history: [Int] = []
        var committed = 0
        var speculated: (audio: UtteranceAudio, committed: Int, transcript: UtteranceTranscript)?
        var numbers: (cutter: Int, output: Int)?
        var nextNumber = 0
        var shownPartial: Int?
        var jobStartNs: UInt64 = 0
        var finishRule = PartialFinishRule(
            closeDelaySeconds: closeDelaySeconds, slackSeconds: Double(options.partialFinishSlackMs) / 1000)
        /// For a partial started at `begin`, polled between decoder steps.
        func partialShouldStop(begin: UInt64) -> () -> Bool {
            let rule = finishRule
            return {
                rule.shouldStop(
                    startedNs: begin, request: queue.abandonRequest.map { ($0.sinceNs, $0.urgent) }, nowNs: LiveClock.nowNs())
            }
        }
        func trace(
            _ job: LiveJobRecord.Job, _ audio: UtteranceAudio, _ outcome: LiveJobRecord.Outcome, _ text: String = "", _ transcript: UtteranceTranscript? = nil,
            voicing: Double? = nil
        ) {
            state.traceDone(job, audio, outcome, startedNs: jobStartNs, text: text, avgLogProb: transcript?.avgLogProb, voicing: voicing)
        }
        func number(of utterance: Int) -> Int {
            if let numbers, numbers.cutter == utterance { return numbers.output }
            numbers = (utterance, nextNumber)
            nextNumber += 1
            return nextNumber - 1
        }
        /// The transcript, or `nil` when the queue voided the job while it ran (a final is
        /// never voided).
        func decode(_ audio: UtteranceAudio, final: Bool, abandonable: Bool) throws -> UtteranceTranscript? {
            let begin = LiveClock.nowNs()
            jobStartNs = begin
            var seconds: Double { Double(LiveClock.nowNs() - begin) / 1e9 }
            defer {
                state.statistics.decodeSeconds += seconds
                if final { state.statistics.slowestFinalDecodeSeconds = max(state.statistics.slowestFinalDecodeSeconds, seconds) }
            }
            let shouldStop: () -> Bool
            if !abandonable {
                shouldStop = { false }
            } else if final {
                shouldStop = { queue.shouldAbandonRunningJob }
            } else {
                shouldStop = partialShouldStop(begin: begin)
            }
            do {
                let transcript = try transcriber.transcribeUtterance(
                    audio.samples, previousTokens: options.conditionOnPreviousText ? history : [],
                    encoding: final ? options.finalEncoding : options.partialEncoding,
                    fallbackCandidates: final ? max(1, options.fallbackCandidates) : 0, shouldStop: shouldStop)
                if final {
                    finishRule.lastFinalSeconds = seconds
                } else {
                    finishRule.lastPartialSeconds = seconds
                    if queue.abandonRequest != nil { state.statistics.partialsFinishedBeforeSpeculation += 1 }
                }
                return transcript
            } catch is CancellationError where abandonable {
                return nil
            }
        }
        do {
            while let job = queue.next() {
                switch job {
                case .final(let audio):
                    let transcript: UtteranceTranscript
                    var reused = false
                    if let guess = speculated, guess.audio == audio, guess.committed == committed {
                        transcript = guess.transcript
                        state.statistics.speculationsUsed += 1
                        jobStartNs = LiveClock.nowNs()
                        reused = true
                    } else {
                        transcript = try decode(audio, final: true, abandonable: false)!
                    }
                    speculated = nil
                    committed += 1
                    history += transcript.tokens
                    if transcript.temperature > 0.5 { history.removeAll() }
                    if history.count > 224 { history.removeFirst(history.count - 224) }
                    let hadPartial = shownPartial == audio.utterance
                    var text = transcript.text
                    // Measured only for a text that would be printed (a few ms for a long utterance).
                    let voicing = text.isEmpty || options.minimumVoicingStrength == nil ? nil : Voicing.strength(of: audio.speech)
                    if !text.isEmpty, !SpeakingRate.isPlausible(text, seconds: audio.end - audio.start, maximumWordsPerSecond: options.maximumWordsPerSecond) {
                        trace(.final, audio, .implausible, text, transcript, voicing: voicing)
                        state.statistics.implausible += 1
                        text = ""  // a partial already shown is still closed by an empty final
                    } else if let voicing, let minimum = options.minimumVoicingStrength, voicing < minimum {
                        trace(.final, audio, .babble, text, transcript, voicing: voicing)
                        state.statistics.babble += 1
                        text = ""
                    }
                    guard !text.isEmpty || hadPartial else {
                        if transcript.text.isEmpty { trace(.final, audio, .empty) }
                        continue
                    }
                    let event = LiveTranscriptEvent(
                        kind: .final, utterance: number(of: audio.utterance), start: audio.start, end: audio.end,
                        text: text)
                    try onEvent(event)
                    trace(.final, audio, reused ? .reused : .shown, text, transcript, voicing: voicing)
                    state.statistics.finals += 1
                    let lag = (Double(LiveClock.nowNs()) - Double(state.audioZeroNs)) / 1e9 - audio.end
                    state.statistics.finalLagSeconds.append(lag)
                case .speculation(let audio):
                    state.statistics.speculations += 1
                    state.statistics.speculationStartLagSeconds.append(
                        (Double(LiveClock.nowNs()) - Double(state.audioZeroNs)) / 1e9 - audio.end)
                    guard let transcript = try decode(audio, final: true, abandonable: true) else {
                        state.statistics.abandonedSpeculations += 1
                        trace(.speculation, audio, .abandoned)
                        continue
                    }
                    speculated = (audio, committed, transcript)
                    trace(.speculation, audio, .kept, transcript.text, transcript)
                case .partial(let audio):
                    guard let transcript = try decode(audio, final: false, abandonable: true) else {
                        state.statistics.abandonedPartials += 1
                        trace(.partial, audio, .abandoned)
                        continue
                    }
                    if queue.discardIfSuperseded(partialOf: audio.utterance) {
                        trace(.partial, audio, .superseded, transcript.text)
                        continue
                    }
                    if transcript.text.isEmpty {
                        trace(.partial, audio, .empty)
                        continue
                    }
                    if transcript.compressionRatio > options.partialCompressionRatioLimit {
                        trace(.partial, audio, .looping, transcript.text)
                        continue
                    }
                    shownPartial = audio.utterance
                    try onEvent(LiveTranscriptEvent(
                        kind: .partial, utterance: number(of: audio.utterance), start: audio.start, end: audio.end,
                        text: transcript.text))
                    state.statistics.partials += 1
                    state.partialShown(audio)
                    trace(.partial, audio, .shown, transcript.text, transcript)
                }
            }
        } catch {
            state.record(error)
            queue.cancel()
            stop()
            ring.close()
        }
    }
}

/// When a running partial gives way to a more urgent job: at once for an urgent request (a
/// final waits, or the job is void), and for a speculation unless the partial is expected to
/// end early enough. The final of a speculation cannot be printed before the VAD closes the
/// utterance, `closeDelaySeconds` after the speculation was asked for; if the speculation
/// takes as long as the last one, it can start up to `closeDelaySeconds - lastFinalSeconds`
/// later without delaying the final, plus `slackSeconds` of delay accepted so the partial is
/// still shown. The partial is expected to take 10% more than the last one; it is stopped
/// as soon as that expectation misses the deadline, or at the deadline.
package struct PartialFinishRule: Sendable, Equatable {
    /// From the speculation's request to the VAD's close, in seconds.
    package var closeDelaySeconds: Double
    /// Delay of the final accepted to let a partial finish, in seconds.
    package var slackSeconds: Double
    /// Seconds the last speculation (or decoded final) took; infinity before the first.
    package var lastFinalSeconds = Double.infinity
    /// Seconds the last partial took; infinity before the first (a partial then gives way).
    package var lastPartialSeconds = Double.infinity

    package init(closeDelaySeconds: Double, slackSeconds: Double) {
        self.closeDelaySeconds = closeDelaySeconds
        self.slackSeconds = slackSeconds
    }

    /// Whether a partial started at `startedNs` should stop now (`nowNs`), given the
    /// queue's request (when it was asked, whether urgent), if any. Monotonic nanoseconds.
    package func shouldStop(startedNs: UInt64, request: (sinceNs: UInt64, urgent: Bool)?, nowNs: UInt64) -> Bool {
        guard let request else { return false }
        if request.urgent { return true }
        let grace = max(0, closeDelaySeconds - lastFinalSeconds) + slackSeconds
        let deadline = Double(request.sinceNs) / 1e9 + grace
        let expectedEnd = Double(startedNs) / 1e9 + lastPartialSeconds * 1.1
        return expectedEnd > deadline || Double(nowNs) / 1e9 >= deadline
    }
}

/// When the first sample of an input that arrives in real time was captured, estimated from
/// when each read returned: a sample at position p cannot have come before T0 + p / rate, so
/// T0 <= (return time - p / rate) for every read, and the least of these bounds is the
/// estimate. It matters when the input was produced before the run began (`arecord ... |
/// copilot transcribe --live` while the model loads): the backlog is read at once, and a lag
/// measured from the run's start would come out short by the time the backlog covers.
package struct InputClockAnchor: Sendable {
    /// The estimate so far (monotonic nanoseconds); `nil` before the first read.
    package private(set) var startNs: UInt64?

    /// No reads yet.
    package init() {}

    /// A read that returned at `returnNs` with `samples` in all read so far at `rate`.
    package mutating func observe(returnNs: UInt64, samples: Int, rate: Int) {
        let audioNs = UInt64((Double(samples) / Double(rate) * 1e9).rounded())
        let bound = returnNs > audioNs ? returnNs - audioNs : 0
        startNs = min(startNs ?? bound, bound)
    }
}

/// What the three threads of one run share.
private final class LiveRunState: @unchecked Sendable {
    let startNs: UInt64
    /// The input's start as its reads show it (see ``InputClockAnchor``); `UInt64.max` until
    /// the first read. Lags of an input not paced by this run are measured from it.
    let inputStartNs = Atomic<UInt64>(UInt64.max)
    /// Whether this run paces the input itself (`--pace realtime` on a file): then the
    /// run's start is the input's start.
    let selfPaced: Bool

    /// Where audio time 0 is on the monotonic clock.
    var audioZeroNs: UInt64 {
        let input = inputStartNs.load(ordering: .relaxed)
        return selfPaced || input == UInt64.max ? startNs : input
    }
    /// When the reader entered its current read of the input (0: not reading).
    let readingSinceNs = Atomic<UInt64>(0)
    /// Written by the worker only; read after it is joined.
    var statistics = LiveStatistics()
    private let lock = NSLock()
    private var error: Error?

    init(startNs: UInt64, selfPaced: Bool, trace: ((LiveJobRecord) -> Void)?) {
        self.startNs = startNs
        self.selfPaced = selfPaced
        self.trace = trace
    }

    private let trace: ((LiveJobRecord) -> Void)?
    private let traceLock = NSLock()
    /// The last partial the worker showed and the cutter has not heard of yet.
    private var shownPartial: (utterance: Int, endSample: Int)?

    /// Worker: a partial of `audio` was shown.
    func partialShown(_ audio: UtteranceAudio) {
        lock.lock()
        shownPartial = (audio.utterance, audio.endSample)
        lock.unlock()
    }

    /// Cutter: the partial shown since the last call, if any.
    func takeShownPartial() -> (utterance: Int, endSample: Int)? {
        lock.lock()
        defer {
            shownPartial = nil
            lock.unlock()
        }
        return shownPartial
    }

    /// Seconds on the input's clock at monotonic time `ns`.
    private func inputSeconds(_ ns: UInt64) -> Double {
        (Double(ns) - Double(audioZeroNs)) / 1e9
    }

    private func emit(_ record: LiveJobRecord) {
        traceLock.lock()
        trace?(record)
        traceLock.unlock()
    }

    /// Traces a job the cutter hands to the queue now.
    func traceQueued(_ event: UtteranceEvent) {
        guard trace != nil else { return }
        let now = inputSeconds(LiveClock.nowNs())
        let (job, audio): (LiveJobRecord.Job, UtteranceAudio)
        switch event {
        case .partial(let a): (job, audio) = (.partial, a)
        case .speculate(let a): (job, audio) = (.speculation, a)
        case .final(let a): (job, audio) = (.final, a)
        case .resumed: return
        }
        emit(LiveJobRecord(
            job: job, utterance: audio.utterance, audioEnd: Double(audio.endSample) / Double(audio.sampleRate),
            outcome: .queued, started: now, finished: now))
    }

    /// Traces a job the worker began at monotonic `startedNs` and is done with now.
    func traceDone(
        _ job: LiveJobRecord.Job, _ audio: UtteranceAudio, _ outcome: LiveJobRecord.Outcome, startedNs: UInt64, text: String,
        avgLogProb: Double? = nil, voicing: Double? = nil
    ) {
        guard trace != nil else { return }
        var record = LiveJobRecord(
            job: job, utterance: audio.utterance, audioEnd: Double(audio.endSample) / Double(audio.sampleRate),
            outcome: outcome, started: inputSeconds(startedNs), finished: inputSeconds(LiveClock.nowNs()), text: text)
        record.avgLogProb = avgLogProb
        record.voicing = voicing
        emit(record)
    }

    /// Keeps the first error.
    func record(_ error: Error) {
        lock.lock()
        if self.error == nil { self.error = error }
        lock.unlock()
    }

    var firstError: Error? {
        lock.lock()
        defer { lock.unlock() }
        return error
    }
}

/// The monotonic clock the pipeline paces and measures with.
enum LiveClock {
    /// Nanoseconds on CLOCK_MONOTONIC.
    static func nowNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Sleeps until the absolute monotonic time `deadline` (no drift across many sleeps).
    static func sleep(untilNs deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }
}
