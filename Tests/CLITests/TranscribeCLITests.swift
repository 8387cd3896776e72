import CopilotCore
import CopilotTestSupport
import Foundation
import Testing

/// `copilot transcribe` through the built binary. The runs that need tiny.en are skipped with
/// a message when `make model` has not been run.
@Suite struct TranscribeCLITests {
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
    /// Why the runs that need tiny.en are skipped.
    static let needsModel: Comment = "models/tiny.en is absent: run `make model`"

    static var modelDirectory: URL? {
        let url = repository.appendingPathComponent("models/tiny.en")
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("model.bin").path) ? url : nil
    }

    static func speech(_ sentences: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-cli-\(UUID()).wav").path
        let p = Process()
        p.executableURL = repository.appendingPathComponent("Tests/Fixtures/make_speech.sh")
        p.arguments = [path] + sentences
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return path
    }

    static func words(_ text: String) -> [String] {
        let cleaned = String(text.lowercased().map { (c: Character) -> Character in c.isLetter || c.isNumber ? c : " " })
        return cleaned.split(separator: " ").map(String.init)
    }

    static func editDistance(_ a: [String], _ b: [String]) -> Int {
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1), previous[j] + 1, current[j - 1] + 1)
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    /// A file of raw s16le silence (stdin is avoided: a command that fails before reading it
    /// would turn the runner's write into SIGPIPE).
    static func silence(bytes: Int = 3200) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-silence-\(UUID()).raw").path
        try Data(count: bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func helpShowsExamplesAndModelSearchOrder() throws {
        let r = try CLI.run(["transcribe", "--help"])
        #expect(r.status == 0)
        #expect(r.out.contains("copilot transcribe"))
        #expect(r.out.contains("COPILOT_MODEL_DIR"))
        #expect(r.out.contains("--no-vad") && r.out.contains("WhisperX"), "the default and how to leave it")
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func transcribesSpeechAsPlainText() throws {
        let sentences = ["A journey of a thousand miles begins with a single step."]
        let wav = try Self.speech(sentences)
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let r = try CLI.run(["transcribe", wav, "--threads", "2"])
        #expect(r.status == 0, "stderr: \(r.err)")
        #expect(r.err.isEmpty)
        // espeak's voice: tiny.en (like faster-whisper) may drop the leading "A"; WER <= 0.25.
        let reference = Self.words(sentences[0]), hypothesis = Self.words(r.out)
        #expect(Double(Self.editDistance(reference, hypothesis)) / Double(reference.count) <= 0.25, "stdout: \(r.out)")
        #expect(r.out.split(separator: "\n").count == 1)

        let json = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: json) }
        let j = try CLI.run(["transcribe", wav, "--format", "json", "--output", json])
        #expect(j.status == 0 && j.stdout.isEmpty, "stderr: \(j.err)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        let segments = object?["segments"] as? [[String: Any]] ?? []
        #expect(segments.count == 1)
        for key in ["start", "end", "text", "avg_logprob", "no_speech_prob", "tokens"] {
            #expect(segments.first?[key] != nil, "missing \(key)")
        }
    }

    /// espeak-ng speaks at 22.05 kHz: this clip goes through copilot's own resampler (the other
    /// fixtures are resampled by sox). With libsamplerate's `fastest` converter (cut at 6.4 kHz)
    /// tiny.en lost the middle sentence here, while faster-whisper kept it.
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func resampledSpeechKeepsEverySentence() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sentences = [
            "Thanks for joining. Today we review the quarterly budget.",
            "Can the launch move to the second week of March?",
        ]
        let script = """
            set -e; cd '\(dir.path)'
            espeak-ng -s 165 -w a.wav "\(sentences[0])"
            espeak-ng -s 150 -v en-us -w b.wav "\(sentences[1])"
            sox -q -n -r 22050 -c 1 pause.wav trim 0 1.5
            sox -q pause.wav a.wav pause.wav b.wav pause.wav meeting.wav
            """
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/bin/bash")
        make.arguments = ["-c", script]
        try make.run()
        make.waitUntilExit()
        #expect(make.terminationStatus == 0)
        // --no-vad: faster-whisper's windows, as in the comparison above. (The default, which
        // decodes the two sentences joined without the pauses, heard "quarter-imager" here:
        // WER 0.16, see benchmarks/RESULTS.md.)
        let r = try CLI.run(["transcribe", dir.appendingPathComponent("meeting.wav").path, "--no-vad"])
        #expect(r.status == 0, "stderr: \(r.err)")
        let reference = Self.words(sentences.joined(separator: " ")), hypothesis = Self.words(r.out)
        #expect(Double(Self.editDistance(reference, hypothesis)) / Double(reference.count) <= 0.15, "stdout: \(r.out)")
        #expect(r.out.contains("quarterly budget"), "stdout: \(r.out)")
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func otherLanguagesAreRefusedForTinyEn() throws {
        let raw = try Self.silence()
        defer { try? FileManager.default.removeItem(atPath: raw) }
        let r = try CLI.run(["transcribe", raw, "--language", "fr", "--raw", "s16le"])
        #expect(r.status == 1)
        #expect(r.err.contains("\"fr\"") && r.err.contains("English only"), "stderr: \(r.err)")
        // Only a fix that exists: copilot refuses multilingual models, so it does not advise one.
        #expect(r.err.contains("drop --language") && !r.err.contains("use a multilingual model"), "stderr: \(r.err)")
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func corruptModelIsRefusedWithTheProblem() throws {
        let model = try #require(Self.modelDirectory)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-badmodel-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["config.json", "vocabulary.txt"] {
            try FileManager.default.copyItem(at: model.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let head = try FileHandle(forReadingFrom: model.appendingPathComponent("model.bin")).read(upToCount: 200_000) ?? Data()
        try head.write(to: dir.appendingPathComponent("model.bin"))
        let raw = try Self.silence()
        defer { try? FileManager.default.removeItem(atPath: raw) }
        let r = try CLI.run(["transcribe", raw, "--model", dir.path, "--raw", "s16le"])
        #expect(r.status == 1)
        #expect(r.err.contains("truncated") && r.err.contains("model.bin"), "stderr: \(r.err)")

        try Data("not a model".utf8).write(to: dir.appendingPathComponent("model.bin"))
        let v = try CLI.run(["transcribe", raw, "--model", dir.path, "--raw", "s16le"])
        #expect(v.status == 1 && v.err.contains("model.bin"), "stderr: \(v.err)")
    }

    /// A model whose files disagree, or whose encoder takes 128 mel bands (it reached a
    /// precondition in the encoder once): one line naming the file and the problem, exit 1.
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func modelThatDisagreesWithItselfIsOneLineError() throws {
        let model = try #require(Self.modelDirectory)
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["model.bin", "vocabulary.txt", "tokenizer.json"] {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(name), withDestinationURL: model.appendingPathComponent(name))
        }
        try Data(#"{"suppress_ids": [1], "decoder_layers": 6}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        let raw = try Self.silence()
        defer { try? FileManager.default.removeItem(atPath: raw) }
        let r = try CLI.run(["transcribe", raw, "--model", dir.path, "--raw", "s16le"])
        #expect(r.status == 1 && r.stdout.isEmpty)
        #expect(
            r.err == "Error: \(dir.path)/config.json gives 6 decoder layers (decoder_layers) but \(dir.path)/model.bin has 4; the files are from different models, restore the ones that came with model.bin\n",
            "stderr: \(r.err)")

        try FileManager.default.removeItem(at: dir.appendingPathComponent("model.bin"))
        try ModelBinBuilder.whisperSkeleton(mels: 128).data().write(to: dir.appendingPathComponent("model.bin"))
        try Data(#"{"suppress_ids": [1]}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        let m = try CLI.run(["transcribe", raw, "--model", dir.path, "--raw", "s16le"])
        #expect(m.status == 1 && m.stdout.isEmpty)
        #expect(m.err.split(separator: "\n").count == 1, "stderr: \(m.err)")
        #expect(m.err.contains("\(dir.path)/model.bin: encoder/conv1/weight takes 128 mel bands (copilot computes 80)"), "stderr: \(m.err)")
    }

    /// `make install`'s layout: PREFIX/bin/copilot finds PREFIX/share/copilot/models/tiny.en
    /// with no flag, run from another directory; a $COPILOT_MODEL_DIR that does not exist is an
    /// error, not skipped for the installed model.
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func installedBinaryFindsTheInstalledModel() throws {
        let model = try #require(Self.modelDirectory)
        let prefix = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: prefix) }
        let bin = prefix.appendingPathComponent("bin"), share = prefix.appendingPathComponent("share/copilot/models")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: share, withIntermediateDirectories: true)
        // A hard link is the installed binary at no cost (a symbolic one would resolve back
        // into the build tree, where the repository's models/ is found first).
        let installed = bin.appendingPathComponent("copilot")
        do { try FileManager.default.linkItem(at: CLI.binary, to: installed) } catch { try FileManager.default.copyItem(at: CLI.binary, to: installed) }
        try FileManager.default.createSymbolicLink(at: share.appendingPathComponent("tiny.en"), withDestinationURL: model)
        let wav = try Self.speech(["Installed and found."])
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let elsewhere = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let r = try CLI.shell("env -u COPILOT_MODEL_DIR \(installed.path) transcribe \(wav)", in: elsewhere)
        #expect(r.status == 0 && r.err.isEmpty, "stderr: \(r.err)")
        #expect(Self.words(r.out).contains("installed"), "stdout: \(r.out)")

        let missing = elsewhere.appendingPathComponent("no-model").path
        let m = try CLI.shell("COPILOT_MODEL_DIR=\(missing) \(installed.path) transcribe \(wav)", in: elsewhere)
        #expect(m.status == 1 && m.stdout.isEmpty)
        #expect(
            m.err == "Error: COPILOT_MODEL_DIR=\(missing) holds no model.bin; point it at a CTranslate2 Whisper model directory, or unset it\n",
            "stderr: \(m.err)")
    }

    @Test func missingModelAndBadAudioAreOneLineErrors() throws {
        let raw = try Self.silence()
        defer { try? FileManager.default.removeItem(atPath: raw) }
        let r = try CLI.run(["transcribe", raw, "--model", "/nonexistent/model-dir", "--raw", "s16le"])
        #expect(r.status == 1 && r.err.contains("/nonexistent/model-dir"), "stderr: \(r.err)")

        guard Self.modelDirectory != nil else { return }
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-bad-\(UUID()).wav").path
        try Data("RIFF garbage, not audio".utf8).write(to: URL(fileURLWithPath: bad))
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let a = try CLI.run(["transcribe", bad])
        #expect(a.status == 1 && a.err.contains(bad) && a.err.split(separator: "\n").count == 1, "stderr: \(a.err)")
        #expect(a.stdout.isEmpty)
    }

    @Test func badFlagsAreUsageErrors() throws {
        // 0 is "one per CPU core", as [transcribe] threads documents; -1 and 257 are not.
        for threads in ["-1", "257"] {
            let r = try CLI.run(["transcribe", "--threads", threads])
            #expect(r.status == 64 && r.err.contains("--threads"), "\(threads): \(r.err)")
        }
        let f = try CLI.run(["transcribe", "--format", "docx"])
        #expect(f.status == 64)
        let b = try CLI.run(["transcribe", "--beam-size", "0"])
        #expect(b.status == 64 && b.err.contains("--beam-size"))
        // --live always cuts utterances with the VAD: either choice is refused with the fix.
        for flag in ["--vad", "--no-vad"] {
            let l = try CLI.run(["transcribe", "--live", flag])
            #expect(l.status == 64 && l.err.contains("drop \(flag)"), "\(flag): \(l.err)")
        }
    }

    /// The default transcribes the speech the VAD finds: a cue per sentence on its own speech,
    /// none across the pause, none past the end; --no-vad decodes the same file's 30 s windows.
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func theDefaultCuesLieOnTheSpeechAndNoVadStillWorks() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sentences = ["Good morning everyone.", "Thank you all for coming."]
        let make = Process()
        make.executableURL = Self.repository.appendingPathComponent("Tests/Fixtures/make_speech.sh")
        make.arguments = ["--pause", "6", dir.appendingPathComponent("two.wav").path] + sentences
        try make.run()
        make.waitUntilExit()
        #expect(make.terminationStatus == 0)
        let wav = dir.appendingPathComponent("two.wav").path
        // A debug build on a loaded machine needs more than the default minute (a safety net).
        let r = try CLI.run(["transcribe", wav, "--format", "json", "--threads", "2"], timeout: 300)
        #expect(r.status == 0, "stderr: \(r.err)")
        let object = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        let segments = object?["segments"] as? [[String: Any]] ?? []
        let times: [(Double, Double)] = segments.map { (($0["start"] as? Double) ?? -1, ($0["end"] as? Double) ?? -1) }
        // 6 s of silence, a sentence of about 1.5 s, 6 s, the other of about 1.7 s, 6 s: 21.2 s.
        #expect(times.count == 2, "\(segments)")
        if times.count == 2 {
            #expect(times[0].0 >= 5.5 && times[0].1 <= 8, "first cue \(times[0])")
            #expect(times[1].0 >= 13 && times[1].1 <= 15.8, "second cue \(times[1])")
        }
        let n = try CLI.run(["transcribe", wav, "--no-vad", "--threads", "2"], timeout: 300)
        #expect(n.status == 0 && n.out.lowercased().contains("good morning"), "stdout: \(n.out) stderr: \(n.err)")
    }
}
