import CopilotCore
import Foundation
import Testing

/// The whole pipeline (reader thread, ring, cutter, worker) with a tone "transcriber".
@Suite struct LiveTranscriberTests {
    typealias S = LiveSignals

    static let meeting = S.signal([
        .silence(20), .tone(40, hertz: 400), .silence(30), .tone(30, hertz: 700), .silence(5), .tone(20, hertz: 500),
        .silence(40), .tone(25, hertz: 900), .silence(15),
    ])

    func run(
        _ samples: [Float], options: LiveTranscriptionOptions, transcriber: ToneTranscriber = ToneTranscriber()
    ) throws -> (events: [LiveTranscriptEvent], statistics: LiveStatistics) {
        let stream = try AudioStream(source: MemoryFrameSource(interleaved: samples, sampleRate: 16_000, channels: 1), targetRate: 16_000)
        let live = try LiveTranscriber(transcriber: transcriber, detector: S.detector(), shaping: S.shaping, options: options)
        let box = EventBox()
        let statistics = try live.run(stream: stream) { box.events.append($0) }
        return (box.events, statistics)
    }

    @Test func finalsNameEachUtteranceInOrder() throws {
        let result = try run(Self.meeting, options: LiveTranscriptionOptions())
        #expect(result.events.map(\.text) == ["t400", "t700 t500", "t900"])
        #expect(result.events.allSatisfy { $0.kind == .final })
        #expect(result.events.map(\.utterance) == [0, 1, 2])
        #expect(result.events.map(\.start) == [0.6, 2.7, 5.55])
        #expect(result.statistics.finals == 3)
        #expect(result.statistics.overruns == 0)
    }

    /// With partials asked for and a slow partial decode, partials are skipped, not finals:
    /// the finals are exactly those of the run without partials, and every partial of an
    /// utterance comes before its final.
    @Test func partialsFallBehindButFinalsDoNot() throws {
        var options = LiveTranscriptionOptions()
        options.partialMs = 60
        options.finalEncoding = .padded
        let slow = ToneTranscriber(partialDelayUs: 20_000)
        let result = try run(Self.meeting + Self.meeting, options: options, transcriber: slow)
        let finals = result.events.filter { $0.kind == .final }
        #expect(finals.map(\.text) == ["t400", "t700 t500", "t900", "t400", "t700 t500", "t900"])
        #expect(finals.map(\.utterance) == Array(0..<6))
        var finished: Set<Int> = []
        for event in result.events {
            #expect(!finished.contains(event.utterance), "event after the final of utterance \(event.utterance)")
            if event.kind == .final { finished.insert(event.utterance) }
        }
        let requested = slow.calls.filter { !$0.fallback }.count
        #expect(result.statistics.partials <= requested)
        #expect(result.statistics.partials + result.statistics.skippedPartials + result.statistics.abandonedPartials >= requested)
        #expect(slow.calls.filter { !$0.fallback }.allSatisfy { $0.encoding == .contentThenSilence })
        #expect(slow.calls.filter(\.fallback).allSatisfy { $0.encoding == .padded })
    }

    /// A partial still decoding when the speech ends gives way: the speculation (or the
    /// final) does not wait behind it. Here every partial would run until abandoned, so each
    /// one that starts is, the finals are those of a run without partials, and no partial is
    /// shown. Real-time pace, so the worker is idle when a partial is due and starts it.
    @Test func aRunningPartialGivesWayToTheEndOfSpeech() throws {
        var options = LiveTranscriptionOptions()
        options.partialMs = 60
        options.pace = .realtime
        let stubborn = ToneTranscriber(partialsWaitToBeAbandoned: true)
        let result = try run(Self.meeting, options: options, transcriber: stubborn)
        #expect(result.events.map(\.text) == ["t400", "t700 t500", "t900"])
        #expect(result.events.allSatisfy { $0.kind == .final })
        #expect(stubborn.partialsNeverAbandoned == 0)
        #expect(result.statistics.abandonedPartials >= 1)
        #expect(result.statistics.abandonedPartials == stubborn.calls.filter { !$0.fallback }.count)
    }

    /// Partials that look like a hallucinated loop (high compression ratio) are not shown.
    @Test func loopingPartialsAreHidden() throws {
        var options = LiveTranscriptionOptions()
        options.partialMs = 60
        options.pace = .realtime
        let short = S.signal([.silence(5), .tone(30, hertz: 400), .silence(12)])
        let shown = try run(short, options: options, transcriber: ToneTranscriber(partialCompressionRatio: 1))
        let hidden = try run(short, options: options, transcriber: ToneTranscriber(partialCompressionRatio: 3))
        #expect(shown.events.contains { $0.kind == .partial })
        #expect(hidden.events.map(\.kind) == [.final])
    }

    /// A final heard as several voices at once (babble) is not printed, counted and traced
    /// with its voicing; one voice is printed; without the check both are.
    @Test func severalVoicesAtOnceAreNotPrinted() throws {
        var options = LiveTranscriptionOptions()
        options.maximumWordsPerSecond = nil  // the stand-in transcriber writes a word per change of tone
        let signal = S.signal([.silence(20), .voices(60, count: 6), .silence(30), .voices(60, count: 1), .silence(20)])
        let checked = try run(signal, options: options)
        let finals = checked.events.filter { $0.kind == .final }
        #expect(finals.count == 1 && finals[0].start > 3, "\(finals)")
        #expect(checked.statistics.babble == 1)
        #expect(checked.statistics.report.contains("1 several voices at once"))
        options.minimumVoicingStrength = nil
        let unchecked = try run(signal, options: options)
        #expect(unchecked.events.filter { $0.kind == .final }.count == 2)
        #expect(unchecked.statistics.babble == 0)
    }

    /// A final faster than speech over its utterance (Whisper writing sentences over a burst
    /// of noise or babble) is not printed, counted in the statistics and traced; without the
    /// check the same finals are printed.
    @Test func textFasterThanSpeechIsNotPrinted() throws {
        var options = LiveTranscriptionOptions()
        options.partialMs = 60
        let fast = try run(Self.meeting, options: options, transcriber: ToneTranscriber(repeatWords: 40))
        // A partial already shown is closed by an empty final.
        #expect(fast.events.filter { $0.kind == .final }.allSatisfy { $0.text.isEmpty }, "\(fast.events.map(\.text))")
        #expect(fast.statistics.implausible == 3)
        #expect(fast.statistics.report.contains("too fast to be speech"))
        options.maximumWordsPerSecond = nil
        let unchecked = try run(Self.meeting, options: options, transcriber: ToneTranscriber(repeatWords: 40))
        #expect(unchecked.events.filter { $0.kind == .final }.count == 3)
        #expect(unchecked.statistics.implausible == 0)
    }

    @Test func aSpeakingRateAllowsOneWordAndSixASecond() {
        #expect(SpeakingRate.isPlausible("Yes.", seconds: 0.1, maximumWordsPerSecond: 6))
        #expect(!SpeakingRate.isPlausible("I'm here.", seconds: 0.18, maximumWordsPerSecond: 6))
        #expect(SpeakingRate.isPlausible("the problem is", seconds: 0.6, maximumWordsPerSecond: 6))
        #expect(!SpeakingRate.isPlausible(String(repeating: "be able to ", count: 7), seconds: 0.15, maximumWordsPerSecond: 6))
        #expect(SpeakingRate.isPlausible("I think we shall ask the finance team first.", seconds: 2.4, maximumWordsPerSecond: 6))
        #expect(SpeakingRate.isPlausible(String(repeating: "word ", count: 100), seconds: 0.1, maximumWordsPerSecond: nil))
        #expect(SpeakingRate.words(in: "  two\twords \n") == 2)
    }

    /// The job trace: each job the cutter queued, then what became of each the worker took,
    /// one JSON line each; every final is queued once and printed once, in order.
    @Test func theJobTraceFollowsEachJob() throws {
        var options = LiveTranscriptionOptions()
        options.partialMs = 60
        let stream = try AudioStream(source: MemoryFrameSource(interleaved: Self.meeting, sampleRate: 16_000, channels: 1), targetRate: 16_000)
        let live = try LiveTranscriber(transcriber: ToneTranscriber(), detector: S.detector(), shaping: S.shaping, options: options)
        let box = EventBox()
        let records = RecordBox()
        _ = try live.run(stream: stream, trace: { records.records.append($0) }) { box.events.append($0) }
        let finals = records.records.filter { $0.job == .final }
        #expect(finals.filter { $0.outcome == .queued }.map(\.utterance) == [0, 1, 2])
        #expect(finals.filter { $0.outcome != .queued }.map(\.utterance) == [0, 1, 2])
        #expect(finals.filter { $0.outcome != .queued }.allSatisfy { $0.outcome == .shown || $0.outcome == .reused })
        #expect(finals.filter { $0.outcome != .queued }.map(\.text) == ["t400", "t700 t500", "t900"])
        let shownPartials = records.records.filter { $0.job == .partial && $0.outcome == .shown }
        #expect(shownPartials.count == box.events.filter { $0.kind == .partial }.count)
        for record in records.records {
            #expect(record.started <= record.finished)
            let object = try #require(JSONSerialization.jsonObject(with: Data(record.jsonLine.utf8)) as? [String: Any])
            #expect(object["job"] as? String == record.job.rawValue && object["outcome"] as? String == record.outcome.rawValue)
            #expect(object["text"] as? String == record.text)
        }
    }

    /// The same audio read at real-time pace gives the same finals as read at full speed.
    @Test func paceDoesNotChangeTheFinals() throws {
        let short = S.signal([.silence(5), .tone(15, hertz: 400), .silence(12), .tone(10, hertz: 800), .silence(12)])
        var paced = LiveTranscriptionOptions()
        paced.pace = .realtime
        let fast = try run(short, options: LiveTranscriptionOptions())
        let slow = try run(short, options: paced)
        #expect(fast.events == slow.events)
        #expect(fast.events.map(\.text) == ["t400", "t800"])
        #expect(slow.statistics.paced && !fast.statistics.paced)
        #expect(slow.statistics.finalLagSeconds.count == 2)
    }

    /// With conditioning on, each final is prompted with the tokens committed before it; by
    /// default no prompt is given.
    @Test func finalsArePromptedWithTheCommittedTextWhenAsked() throws {
        let plain = ToneTranscriber()
        _ = try run(Self.meeting, options: LiveTranscriptionOptions(), transcriber: plain)
        #expect(!plain.calls.isEmpty && plain.calls.allSatisfy { $0.prompt == 0 })
        var options = LiveTranscriptionOptions()
        options.conditionOnPreviousText = true
        let transcriber = ToneTranscriber()
        _ = try run(Self.meeting, options: options, transcriber: transcriber)
        // Speculative decodes are prompted the same way; one may be wasted on a short pause.
        let prompts = transcriber.calls.filter(\.fallback).map(\.prompt)
        #expect(prompts.first == 0 && prompts.last == 4 && Set(prompts) == [0, 1, 4] && prompts == prompts.sorted(), "\(prompts)")
    }

    /// An input error after some audio: the utterances before it are printed, then it is thrown.
    @Test func inputErrorComesAfterTheLastUtterance() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-live-\(UUID()).raw").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = Data()
        for x in Self.meeting { withUnsafeBytes(of: Int16(x * 32767).littleEndian) { bytes.append(contentsOf: $0) } }
        bytes.append(0)  // half a sample at the end
        try bytes.write(to: URL(fileURLWithPath: path))
        let stream = try AudioStream.open(AudioInputRequest(source: .file(path: path), forceRaw: true, targetRate: 16_000))
        let live = try LiveTranscriber(transcriber: ToneTranscriber(), detector: S.detector(), shaping: S.shaping, options: LiveTranscriptionOptions())
        let box = EventBox()
        #expect(throws: AudioError.self) {
            _ = try live.run(stream: stream) { box.events.append($0) }
        }
        #expect(box.events.map(\.text) == ["t400", "t700 t500", "t900"])
    }

    /// A failing output stops the run with that error instead of hanging.
    @Test func outputErrorStopsTheRun() throws {
        let stream = try AudioStream(source: MemoryFrameSource(interleaved: Self.meeting + Self.meeting, sampleRate: 16_000, channels: 1), targetRate: 16_000)
        let live = try LiveTranscriber(transcriber: ToneTranscriber(), detector: S.detector(), shaping: S.shaping, options: LiveTranscriptionOptions())
        let box = EventBox()
        #expect(throws: OutputError.self) {
            _ = try live.run(stream: stream) { event in
                box.events.append(event)
                throw OutputError.closed
            }
        }
        #expect(box.events.count == 1)
    }

    @Test func eventsRenderAsJSONLinesAndCues() {
        let event = LiveTranscriptEvent(kind: .final, utterance: 2, start: 1.5, end: 3.04, text: "Hello \"there\"")
        #expect(event.jsonLine == "{\"type\":\"final\",\"utterance\":2,\"start\":1.5,\"end\":3.04,\"text\":\"Hello \\\"there\\\"\"}\n")
        let partial = LiveTranscriptEvent(kind: .partial, utterance: 0, start: 0, end: 0.3, text: "Hel")
        #expect(partial.jsonLine.hasPrefix("{\"type\":\"partial\",\"utterance\":0,\"start\":0,\"end\":0.3,"))
        let srt = LiveTranscriptRenderer(format: .srt)
        #expect(srt.render(partial) == "")
        #expect(srt.render(event) == "1\n00:00:01,500 --> 00:00:03,040\nHello \"there\"\n\n")
        #expect(srt.render(event).hasPrefix("2\n"))
        let vtt = LiveTranscriptRenderer(format: .vtt)
        #expect(vtt.header == "WEBVTT\n\n")
        #expect(vtt.render(event) == "00:00:01.500 --> 00:00:03.040\nHello \"there\"\n\n")
        #expect(LiveTranscriptRenderer(format: .txt).render(event) == "Hello \"there\"\n")
        let empty = LiveTranscriptEvent(kind: .final, utterance: 3, start: 4, end: 5, text: "")
        #expect(LiveTranscriptRenderer(format: .txt).render(empty) == "")
        #expect(LiveTranscriptRenderer(format: .jsonl).render(empty).contains("\"text\":\"\""))
        #expect(LiveTranscriptRenderer.statusLine(LiveTranscriptEvent(kind: .partial, utterance: 0, start: 0, end: 1, text: String(repeating: "ab", count: 60)), width: 10) == "…" + String(repeating: "ab", count: 5).dropFirst())
    }
}

/// Collects events on the worker thread; read after `run` returns (the worker is joined).
final class EventBox: @unchecked Sendable {
    var events: [LiveTranscriptEvent] = []
}

/// The job records of one run (the pipeline makes one call at a time).
final class RecordBox: @unchecked Sendable {
    var records: [LiveJobRecord] = []
}

extension LiveTranscriberTests {
    @Test func statisticsReportLagOnlyWhenTheInputWasPaced() {
        var statistics = LiveStatistics()
        statistics.finalLagSeconds = [0.3, 0.5, 0.4, 2.0]
        statistics.paced = true
        #expect(statistics.report.contains("p50 400 ms, p99 2000 ms, max 2000 ms"))
        statistics.paced = false
        #expect(statistics.report.contains("--pace realtime"))
        statistics.paced = true
        statistics.finalLagSeconds = []
        #expect(statistics.report.contains("no finals"))
    }
}
