import Foundation
import Testing

/// `copilot transcribe --live` through the built binary, always at `--pace none` so no timing
/// decides a result. Runs that need tiny.en are skipped with a message without `make model`.
@Suite struct TranscribeLiveCLITests {
    typealias T = TranscribeCLITests

    static let sentences = [
        "Thanks for joining. Today we review the quarterly budget.",
        "Can the launch move to the second week of March?",
        "I think we should ask the finance team first.",
    ]

    /// The three sentences with 1.5 s pauses, made once per run.
    /// Why the runs on the synthesised meeting are skipped.
    static let needsSpeech: Comment = "espeak-ng could not synthesise the meeting: apt-get install espeak-ng sox"
    static let meeting: String? = try? speech(options: ["--pause", "1.5"], sentences)

    /// `Tests/Fixtures/make_speech.sh OPTIONS OUT SENTENCES...` into a temporary WAV.
    static func speech(options: [String], _ sentences: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-live-\(UUID()).wav").path
        let p = Process()
        p.executableURL = T.repository.appendingPathComponent("Tests/Fixtures/make_speech.sh")
        p.arguments = options + [path] + sentences
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        return path
    }

    static func wer(_ reference: String, _ hypothesis: String) -> Double {
        let r = T.words(reference)
        return Double(T.editDistance(r, T.words(hypothesis))) / Double(max(1, r.count))
    }

    static func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
        }
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel), .enabled(if: TranscribeLiveCLITests.meeting != nil, TranscribeLiveCLITests.needsSpeech))
    func finalsComeOnePerUtteranceInOrder() throws {
        let wav = try #require(Self.meeting)
        let r = try CLI.run(["transcribe", wav, "--live", "--pace", "none", "--threads", "2"], timeout: 300)
        #expect(r.status == 0, "stderr: \(r.err)")
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "stdout: \(r.out)")
        for (line, sentence) in zip(lines, Self.sentences) {
            #expect(Self.wer(sentence, line) <= 0.25, "\(line) against \(sentence)")
        }
        #expect(Self.wer(Self.sentences.joined(separator: " "), r.out) <= 0.15, "stdout: \(r.out)")
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel), .enabled(if: TranscribeLiveCLITests.meeting != nil, TranscribeLiveCLITests.needsSpeech))
    func jsonlEventsAreOrderedAndPartialsPrecedeTheirFinal() throws {
        let wav = try #require(Self.meeting)
        let r = try CLI.run(
            ["transcribe", wav, "--live", "--pace", "none", "--format", "jsonl", "--partials", "--partial-ms", "200", "--threads", "2", "--stats"],
            timeout: 300)
        #expect(r.status == 0, "stderr: \(r.err)")
        let events = try Self.jsonLines(r.out)
        let finals = events.filter { $0["type"] as? String == "final" }
        #expect(finals.map { $0["utterance"] as? Int } == [0, 1, 2])
        #expect(events.allSatisfy { ["partial", "final"].contains($0["type"] as? String ?? "") })
        var closed: Set<Int> = []
        var previousEnd = 0.0
        for event in events {
            let utterance = try #require(event["utterance"] as? Int)
            let start = try #require(event["start"] as? Double), end = try #require(event["end"] as? Double)
            #expect(start < end && event["text"] is String)
            #expect(!closed.contains(utterance), "event after the final of \(utterance)")
            if event["type"] as? String == "final" {
                closed.insert(utterance)
                #expect(start >= previousEnd)
                previousEnd = end
            }
        }
        // Speech starts after the 1.5 s pause, each final inside the audio.
        #expect((finals.first?["start"] as? Double ?? 0) >= 1.2)
        #expect(r.err.contains("3 finals") && r.err.contains("overruns 0"), "stderr: \(r.err)")
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel), .enabled(if: TranscribeLiveCLITests.meeting != nil, TranscribeLiveCLITests.needsSpeech))
    func subtitlesGetOneCuePerFinal() throws {
        let wav = try #require(Self.meeting)
        let srt = try CLI.run(["transcribe", wav, "--live", "--format", "srt", "--threads", "2"], timeout: 300)
        #expect(srt.status == 0, "stderr: \(srt.err)")
        let cues = srt.out.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(cues.count == 3, "stdout: \(srt.out)")
        for (index, cue) in cues.enumerated() {
            let lines = cue.split(separator: "\n")
            #expect(lines.first == "\(index + 1)"[...])
            #expect(lines.count >= 3 && lines[1].contains(" --> ") && lines[1].contains(","))
        }
        let vtt = try CLI.run(["transcribe", wav, "--live", "--format", "vtt", "--threads", "2"], timeout: 300)
        #expect(vtt.status == 0)
        #expect(vtt.out.hasPrefix("WEBVTT\n\n"))
        #expect(vtt.out.components(separatedBy: " --> ").count == 4, "stdout: \(vtt.out)")
    }

    /// A WAV stream on stdin (what `arecord` pipes) gives the same finals as the file.
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel), .enabled(if: TranscribeLiveCLITests.meeting != nil, TranscribeLiveCLITests.needsSpeech))
    func wavOnStdinGivesTheFileFinals() throws {
        let wav = try #require(Self.meeting)
        let file = try CLI.run(["transcribe", wav, "--live", "--threads", "2"], timeout: 300)
        let piped = try CLI.run(["transcribe", "--live", "--threads", "2"], stdin: try Data(contentsOf: URL(fileURLWithPath: wav)), timeout: 300)
        #expect(piped.status == 0, "stderr: \(piped.err)")
        #expect(piped.out == file.out && !file.out.isEmpty)
    }

    /// The end of the input (here --duration, in the middle of the second sentence, 1.5 s into it) closes the
    /// utterance in progress and prints it.
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel), .enabled(if: TranscribeLiveCLITests.meeting != nil, TranscribeLiveCLITests.needsSpeech))
    func durationFlushesTheUtteranceInProgress() throws {
        let wav = try #require(Self.meeting)
        let r = try CLI.run(["transcribe", wav, "--live", "--duration", "8.5", "--format", "jsonl", "--threads", "2"], timeout: 300)
        #expect(r.status == 0, "stderr: \(r.err)")
        let finals = try Self.jsonLines(r.out)
        #expect(finals.count == 2, "stdout: \(r.out)")
        #expect((finals.last?["end"] as? Double ?? 99) <= 8.5)
        #expect(T.words(finals.last?["text"] as? String ?? "").contains("launch") || T.words(finals.last?["text"] as? String ?? "").contains("can"))
    }

    /// One utterance longer than 30 s (the VAD told to bridge every pause) is cut in parts
    /// without losing words at the cut.
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func utterancesLongerThanAWindowLoseNoWords() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = [
            "The committee met on Monday to discuss the annual report and the plans for next year.",
            "Everyone agreed that the new product line should launch in the autumn after more testing.",
            "The finance director explained that costs had risen but sales had grown even faster.",
            "Several members asked about hiring, and the answer was that two teams will grow.",
            "Finally the chair thanked the staff for their hard work and closed the meeting.",
            "The next meeting will take place in the main hall at ten in the morning on Friday.",
        ]
        let wav = try Self.speech(options: ["--speed", "140"], text)
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let config = dir.appendingPathComponent("copilot.toml")
        try "[vad]\nmin_silence_ms = 3000\n".write(to: config, atomically: true, encoding: .utf8)
        let r = try CLI.run(
            ["transcribe", wav, "--live", "--format", "jsonl", "--threads", "2", "--config", config.path, "--stats"], timeout: 600)
        #expect(r.status == 0, "stderr: \(r.err)")
        let finals = try Self.jsonLines(r.out)
        #expect(finals.count >= 2, "stdout: \(r.out)")
        #expect(r.err.contains("forced cuts") && !r.err.contains(" 0 forced cuts"), "stderr: \(r.err)")
        let joined = finals.compactMap { $0["text"] as? String }.joined(separator: " ")
        #expect(Self.wer(text.joined(separator: " "), joined) <= 0.2, "finals: \(joined)")
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func silenceGivesNoText() throws {
        let raw = try T.silence(bytes: 32_000 * 20)
        defer { try? FileManager.default.removeItem(atPath: raw) }
        let r = try CLI.run(["transcribe", raw, "--raw", "s16le", "--live", "--format", "jsonl"], timeout: 120)
        #expect(r.status == 0, "stderr: \(r.err)")
        #expect(r.out.isEmpty)
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func badInputIsOneLineNamingItAndTheFix() throws {
        // A WAV header that breaks off on stdin.
        let header = Data("RIFF\u{24}\u{0}\u{0}\u{0}WAVEfmt ".utf8) + Data([16, 0, 0, 0, 1, 0])
        let wav = try CLI.run(["transcribe", "--live"], stdin: header, timeout: 60)
        #expect(wav.status == 1 && wav.err.contains("stdin") && wav.err.split(separator: "\n").count == 1, "stderr: \(wav.err)")
        // A missing device.
        let device = try CLI.run(["transcribe", "--live", "--device", "nosuchcard_copilot"], timeout: 60)
        #expect(device.status == 1 && device.err.contains("nosuchcard_copilot") && device.err.contains("arecord -L"), "stderr: \(device.err)")
        // An unsupported rate.
        let raw = try T.silence()
        defer { try? FileManager.default.removeItem(atPath: raw) }
        let rate = try CLI.run(["transcribe", raw, "--live", "--raw", "s16le", "--rate", "0"], timeout: 60)
        #expect(rate.status == 1 && rate.err.contains("--rate"), "stderr: \(rate.err)")
        // A missing model directory.
        let model = try CLI.run(["transcribe", raw, "--live", "--raw", "s16le", "--model", "/nonexistent/live-model"], timeout: 60)
        #expect(model.status == 1 && model.err.contains("/nonexistent/live-model"), "stderr: \(model.err)")
    }

    /// Ctrl-C while someone speaks: the utterance in progress is closed and printed, exit 0.
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel), .enabled(if: TranscribeLiveCLITests.meeting != nil, TranscribeLiveCLITests.needsSpeech))
    func interruptFlushesTheUtteranceInProgress() throws {
        let wav = try #require(Self.meeting)
        // The first sentence and about 1.5 s of the second, as raw s16le; the pipe stays open.
        let samples = try AudioStreamSamples.s16le(wav, seconds: 8.5)
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["transcribe", "--live", "--raw", "s16le", "--format", "jsonl", "--threads", "2"]
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = errPipe
        try process.run()
        let output = OutputBox()
        outPipe.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        try inPipe.fileHandleForWriting.write(contentsOf: samples)
        // Interrupt once the first final is out (so the second sentence has been heard).
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline && !output.text.contains("\n") { usleep(10_000) }
        process.interrupt()
        let stopBy = Date().addingTimeInterval(60)
        while process.isRunning && Date() < stopBy { usleep(10_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        outPipe.fileHandleForReading.readabilityHandler = nil
        output.append(outPipe.fileHandleForReading.readDataToEndOfFile())
        try? inPipe.fileHandleForWriting.close()
        let err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "stderr: \(err)")
        let finals = try Self.jsonLines(output.text)
        #expect(finals.count == 2, "stdout: \(output.text)")
        let lastWords = T.words(finals.last?["text"] as? String ?? "")
        #expect(lastWords.contains("launch"), "stdout: \(output.text)")
    }

    /// Stdin that stays open but sends nothing ends with the stall error, not a hang.
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func stalledStdinEndsWithAnError() throws {
        // Stdin is a pipe this test holds open and never writes to, however long the model
        // takes to load on a loaded machine (a `sleep N |` producer ends after N seconds, and
        // a slow start then sees the end of input instead of a stall).
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["transcribe", "--live", "--raw", "s16le", "--stall-seconds", "1"]
        let input = Pipe(), err = Pipe()
        process.standardInput = input
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try input.fileHandleForWriting.close()
        #expect(process.terminationStatus == 1)
        #expect(message.contains("no audio from stdin for 1 s") && message.contains("--stall-seconds"), "stderr: \(message)")
    }

    @Test func liveFlagsAreCheckedAsUsageErrors() throws {
        let json = try CLI.run(["transcribe", "x.wav", "--live", "--format", "json"])
        #expect(json.status == 64 && json.err.contains("jsonl"), "stderr: \(json.err)")
        let partials = try CLI.run(["transcribe", "x.wav", "--partials"])
        #expect(partials.status == 64 && partials.err.contains("--live"))
        let ms = try CLI.run(["transcribe", "x.wav", "--live", "--partial-ms", "200"])
        #expect(ms.status == 64 && ms.err.contains("--partials"))
        let output = try CLI.run(["transcribe", "x.wav", "--live", "--output", "x.txt"])
        #expect(output.status == 64 && output.err.contains("redirect"))
        let pace = try CLI.run(["transcribe", "x.wav", "--live", "--pace", "fast"])
        #expect(pace.status == 64)
        let keep = try CLI.run(["transcribe", "x.wav", "--keep-all-finals"])
        #expect(keep.status == 64 && keep.err.contains("--keep-all-finals") && keep.err.contains("--live"), "stderr: \(keep.err)")
        let help = try CLI.run(["transcribe", "--help"])
        #expect(help.out.contains("--live") && help.out.contains("--partials") && help.out.contains("copilot transcribe --live"))
        #expect(!help.out.contains("--final-encoding"))
    }
}

/// Collects a child's stdout from the pipe's handler thread.
private final class OutputBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ more: Data) {
        lock.lock()
        data.append(more)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The first seconds of a 16 kHz mono 16-bit WAV as raw s16le bytes (its 44-byte header
/// skipped, as make_speech.sh writes it).
private enum AudioStreamSamples {
    static func s16le(_ wav: String, seconds: Double) throws -> Data {
        let data = try Data(contentsOf: URL(fileURLWithPath: wav))
        let bytes = min(data.count - 44, Int(seconds * 16_000) * 2)
        return data.subdata(in: 44..<(44 + bytes))
    }
}
