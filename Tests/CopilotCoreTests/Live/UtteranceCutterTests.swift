import CopilotCore
import Testing

@Suite struct UtteranceCutterTests {
    typealias S = LiveSignals

    func cutter(preRollMs: Int = 150, partialMs: Int? = nil, maximumSeconds: Double = 28) throws -> UtteranceCutter {
        try UtteranceCutter(
            detector: S.detector(), shaping: S.shaping, preRollMs: preRollMs, partialMs: partialMs,
            maximumUtteranceSeconds: maximumSeconds, cutSearchSeconds: 4)
    }

    @Test func cutsOneFinalPerUtteranceAtTheSpeechFrames() throws {
        let samples = S.signal([.silence(20), .tone(40, hertz: 400), .silence(30), .tone(25, hertz: 700), .silence(30)])
        let finals = S.finals(S.events(try cutter(preRollMs: 0), samples))
        #expect(finals.map(\.utterance) == [0, 1])
        #expect(finals.map(\.speechStartSample) == [20 * S.frame, 90 * S.frame])
        #expect(finals.map(\.endSample) == [60 * S.frame, 115 * S.frame])
        #expect(finals.map { Array($0.samples) } == finals.map { Array(samples[$0.startSample..<$0.endSample]) })
    }

    @Test(arguments: [[320], [1], [480], [7, 1000, 333], [100_000]])
    func chunkingDoesNotChangeTheEvents(chunks: [Int]) throws {
        let samples = S.signal([.silence(12), .tone(30, hertz: 400), .silence(5), .tone(10, hertz: 500), .silence(40), .tone(9, hertz: 600)])
        let reference = S.events(try cutter(partialMs: 90), samples, chunks: [480])
        #expect(S.events(try cutter(partialMs: 90), samples, chunks: chunks) == reference)
        #expect(!reference.isEmpty)
    }

    /// A soft onset the detector does not hear as speech is still in the utterance: pre-roll.
    @Test func preRollKeepsTheSoftFirstSyllable() throws {
        let samples = S.signal([.silence(30), .soft(4), .tone(20, hertz: 400), .silence(20)])
        let finals = S.finals(S.events(try cutter(preRollMs: 150), samples))
        #expect(finals.count == 1)
        let final = try #require(finals.first)
        #expect(final.speechStartSample == 34 * S.frame)
        #expect(final.startSample == 34 * S.frame - 5 * S.frame)  // 150 ms = 5 frames
        #expect(Array(final.samples) == Array(samples[final.startSample..<final.endSample]))
        // The soft frames are there, unchanged.
        let softStart = 30 * S.frame - final.startSample
        #expect(Array(final.samples[softStart..<(softStart + 4 * S.frame)]) == Array(samples[(30 * S.frame)..<(34 * S.frame)]))
        // Without pre-roll they are clipped.
        let clipped = try #require(S.finals(S.events(try cutter(preRollMs: 0), samples)).first)
        #expect(clipped.startSample == 34 * S.frame)
    }

    /// Pre-roll never reaches back into the previous utterance (no sample said twice).
    @Test func preRollStopsAtThePreviousUtterance() throws {
        let samples = S.signal([.tone(10, hertz: 400), .silence(11), .tone(10, hertz: 600), .silence(20)])
        let finals = S.finals(S.events(try cutter(preRollMs: 600), samples))
        #expect(finals.count == 2)
        #expect(finals[1].startSample == finals[0].endSample)
    }

    @Test func pauseShorterThanTheSilenceVoidsTheSpeculation() throws {
        let samples = S.signal([.silence(5), .tone(20, hertz: 400), .silence(6), .tone(20, hertz: 700), .silence(15)])
        let events = S.events(try cutter(preRollMs: 0), samples)
        var kinds: [String] = []
        for event in events {
            switch event {
            case .speculate(let audio): kinds.append("speculate \(audio.utterance) \(audio.endSample / S.frame)")
            case .resumed(let utterance): kinds.append("resumed \(utterance)")
            case .final(let audio): kinds.append("final \(audio.utterance) \(audio.endSample / S.frame)")
            case .partial: kinds.append("partial")
            }
        }
        #expect(kinds == ["speculate 0 25", "resumed 0", "speculate 0 51", "final 0 51"])
        // The last speculation's audio is exactly the final's.
        guard case .speculate(let guess) = events[2], case .final(let final) = events[3] else {
            Issue.record("unexpected events \(events)")
            return
        }
        #expect(guess == final)
    }

    @Test func partialsFollowTheSpeechAndStopAtTheFinal() throws {
        let samples = S.signal([.silence(10), .tone(50, hertz: 400), .silence(20)])
        let events = S.events(try cutter(preRollMs: 0, partialMs: 300), samples)
        let partialEnds = events.compactMap { if case .partial(let a) = $0 { a.endSample / S.frame } else { nil } }
        // Speech starts at frame 10; one partial each 300 ms (10 frames) of it while it lasts.
        #expect(partialEnds == [20, 30, 40, 50, 60])
        #expect(events.last.map { if case .final = $0 { true } else { false } } == true)
        // An earlier first partial (150 ms, 5 frames); the rest keep their 300 ms rhythm.
        let early = try UtteranceCutter(detector: S.detector(), shaping: S.shaping, preRollMs: 0, partialMs: 300, firstPartialMs: 150)
        let earlyEnds = S.events(early, samples).compactMap { if case .partial(let a) = $0 { a.endSample / S.frame } else { nil } }
        #expect(earlyEnds == [15, 25, 35, 45, 55])
    }

    /// Until a partial has been shown, partials are asked for each `partialRetryMs`; once the
    /// worker reports one shown, they follow each `partialMs` after the audio it covered.
    @Test func partialsComeOftenUntilOneIsShown() throws {
        let samples = S.signal([.silence(10), .tone(50, hertz: 400), .silence(20)])
        let retrying = try UtteranceCutter(
            detector: S.detector(), shaping: S.shaping, preRollMs: 0, partialMs: 300, firstPartialMs: 150, partialRetryMs: 60)
        let never = S.events(retrying, samples).compactMap { if case .partial(let a) = $0 { a.endSample / S.frame } else { nil } }
        // Nothing shown: every 60 ms (2 frames) after the first at 150 ms (5 frames).
        #expect(never == Array(stride(from: 15, through: 59, by: 2)))

        let cutter = try UtteranceCutter(
            detector: S.detector(), shaping: S.shaping, preRollMs: 0, partialMs: 300, firstPartialMs: 150, partialRetryMs: 60)
        var ends: [Int] = []
        samples.withUnsafeBufferPointer { all in
            for frame in 0..<(all.count / S.frame) {
                var partials: [UtteranceAudio] = []
                cutter.feed(UnsafeBufferPointer(rebasing: all[(frame * S.frame)..<((frame + 1) * S.frame)])) { event in
                    if case .partial(let audio) = event { partials.append(audio) }
                }
                for audio in partials {
                    ends.append(audio.endSample / S.frame)
                    // The second partial (17 frames) is the first with text.
                    if ends.count == 2 { cutter.partialShown(utterance: audio.utterance, endSample: audio.endSample) }
                }
            }
            cutter.finish { _ in }
        }
        #expect(ends == [15, 17, 27, 37, 47, 57])
        // A late report of another utterance changes nothing.
        cutter.partialShown(utterance: 7, endSample: 0)
    }

    @Test func tooShortBlipsAreDroppedWithoutEvents() throws {
        let samples = S.signal([.silence(10), .tone(2, hertz: 400), .silence(30)])
        #expect(S.events(try cutter(partialMs: 30), samples).allSatisfy { if case .final = $0 { false } else { true } })
    }

    @Test func endOfInputFlushesTheOpenUtterance() throws {
        let samples = S.signal([.silence(10), .tone(20, hertz: 400)]) + [Float](repeating: 0.3, count: 100)
        let finals = S.finals(S.events(try cutter(preRollMs: 0), samples))
        #expect(finals.count == 1)
        #expect(finals.first?.endSample == samples.count)
    }

    /// An utterance longer than the maximum is cut at a quiet frame: the parts are contiguous
    /// (nothing lost, nothing repeated), none longer than the maximum, each cut in a dip.
    @Test func longUtterancesAreCutInTheirQuietestFrameWithoutLosingAudio() throws {
        var pieces: [LiveSignals.Piece] = [.silence(10)]
        // 70 s of "speech": 1.95 s tones with a soft 60 ms dip between (bridged by the VAD).
        for i in 0..<34 { pieces += [.tone(65, hertz: i % 2 == 0 ? 400 : 600), .soft(2)] }
        pieces.append(.silence(20))
        let samples = S.signal(pieces)
        let cutter = try self.cutter(preRollMs: 0, maximumSeconds: 20)
        let finals = S.finals(S.events(cutter, samples))
        #expect(finals.count >= 3)
        #expect(cutter.forcedCuts == finals.count - 1)
        #expect(finals.allSatisfy { $0.samples.count <= 20 * S.rate })
        for (a, b) in zip(finals, finals.dropFirst()) {
            #expect(a.endSample == b.startSample)
            #expect(b.speechStartSample == b.startSample)
            // The cut lands at the start of a soft (quiet) frame.
            #expect(samples[b.startSample..<(b.startSample + S.frame)].allSatisfy { abs($0) < 0.01 })
        }
        let joined = finals.flatMap(\.samples)
        #expect(joined == Array(samples[finals[0].startSample..<finals[finals.count - 1].endSample]))
        #expect(finals.map(\.utterance) == Array(0..<finals.count))
    }
}

extension UtteranceCutterTests {
    /// Post-roll: the final and its speculation carry that much of the silence after the
    /// speech (whole frames, less than the minimum silence); the reported end stays the
    /// speech end.
    @Test func postRollKeepsTheSilenceAfterTheSpeech() throws {
        let samples = S.signal([.silence(10), .tone(20, hertz: 400), .silence(30)])
        let cutter = try UtteranceCutter(detector: S.detector(), shaping: S.shaping, preRollMs: 0, postRollMs: 150, partialMs: nil)
        #expect(cutter.postRollSamples == 5 * S.frame)
        let events = S.events(cutter, samples)
        guard events.count == 2, case .speculate(let guess) = events[0], case .final(let final) = events[1] else {
            Issue.record("unexpected events \(events)")
            return
        }
        #expect(guess == final)
        #expect(final.speechEndSample == 30 * S.frame)
        #expect(final.endSample == 35 * S.frame)
        #expect(final.end == 0.9)
        // More post-roll than the silence that closes the utterance is cut to fit.
        let long = try UtteranceCutter(detector: S.detector(), shaping: S.shaping, preRollMs: 0, postRollMs: 900, partialMs: nil)
        #expect(long.postRollSamples == 9 * S.frame)
    }
}
