import CopilotCore
import CopilotTestSupport
import Foundation
import Testing

/// `copilot transcribe --word-timestamps` through the built binary: words in json, cues from
/// words in srt, the VAD default keeping words on their speech, and the flags' usage errors.
@Suite struct TranscribeWordsCLITests {
    /// One segment's words as (start, end, word) with its own times and text.
    struct Segment {
        var start: Double, end: Double, text: String
        var words: [(start: Double, end: Double, word: String, probability: Double)]
    }

    /// The segments of `copilot transcribe --word-timestamps --format json` on `wav`.
    static func segments(_ wav: String, _ extra: [String] = []) throws -> [Segment] {
        let r = try CLI.run(["transcribe", wav, "--word-timestamps", "--format", "json", "--threads", "2"] + extra, timeout: 300)
        #expect(r.status == 0, "stderr: \(r.err)")
        let object = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        return (object?["segments"] as? [[String: Any]] ?? []).map { s in
            Segment(
                start: s["start"] as? Double ?? -1, end: s["end"] as? Double ?? -1, text: s["text"] as? String ?? "",
                words: (s["words"] as? [[String: Any]] ?? []).map {
                    ($0["start"] as? Double ?? -1, $0["end"] as? Double ?? -1, $0["word"] as? String ?? "", $0["probability"] as? Double ?? -1)
                })
        }
    }

    /// Every segment's words join to its text, lie inside it and the file, and run in order.
    static func checkWords(_ segments: [Segment], fileSeconds: Double, _ label: String) {
        #expect(!segments.isEmpty, "\(label): no segments")
        var previousEnd = 0.0
        for segment in segments {
            #expect(!segment.words.isEmpty, "\(label): no words in \(segment.text)")
            #expect(segment.words.map(\.word).joined() == segment.text, "\(label): words \(segment.words.map(\.word)) vs \(segment.text)")
            for word in segment.words {
                #expect(word.start <= word.end, "\(label): \(word)")
                #expect(word.start >= previousEnd - 1e-9, "\(label): \(word) starts before the word before it ends (\(previousEnd))")
                #expect(word.start >= segment.start - 1e-9 && word.end <= segment.end + 1e-9, "\(label): \(word) outside \(segment.start)-\(segment.end)")
                #expect(word.start >= 0 && word.end <= fileSeconds + 1e-9, "\(label): \(word) outside the file")
                #expect((0...1).contains(word.probability), "\(label): \(word)")
                previousEnd = word.end
            }
        }
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func shortClipWordsJoinToTheTextInOrderInsideSegmentsAndFile() throws {
        let sentences = ["A journey of a thousand miles begins with a single step.", "The library opens at nine in the morning."]
        let wav = try TranscribeCLITests.speech(sentences)
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let soxi = try CLI.shell("soxi -D \(wav)", in: TranscribeCLITests.repository)
        let seconds = try #require(Double(soxi.out.trimmingCharacters(in: .whitespacesAndNewlines)), "soxi: \(soxi.err)")
        for extra in [["--no-vad"], []] {
            let segments = try Self.segments(wav, extra)
            Self.checkWords(segments, fileSeconds: seconds, extra.first ?? "default")
            let words = segments.flatMap(\.words).map(\.word)
            #expect(words.contains(" journey") && words.contains(" library"), "\(words)")
            // espeak speaks about 2.5 words a second: no word lasts two seconds.
            #expect(segments.flatMap(\.words).allSatisfy { $0.end - $0.start < 2 }, "\(segments.flatMap(\.words))")
        }
    }

    /// With the VAD default, no word spans the 6 s pause between two sentences: the last word
    /// of the first ends at least 3 s before the first word of the second starts.
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func theDefaultKeepsEveryWordOffThePause() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("two.wav").path
        let make = try CLI.shell(
            "Tests/Fixtures/make_speech.sh --pause 6 \(wav) 'Good morning everyone.' 'Thank you all for coming.'",
            in: TranscribeCLITests.repository)
        #expect(make.status == 0, "\(make.err)")
        let segments = try Self.segments(wav)
        Self.checkWords(segments, fileSeconds: 21.5, "default")
        let words = segments.flatMap(\.words)
        let morning = words.lastIndex { $0.word.lowercased().contains("everyone") }
        #expect(morning != nil && morning.map { $0 + 1 < words.count } == true, "\(words)")
        if let morning, morning + 1 < words.count {
            #expect(words[morning + 1].start - words[morning].end >= 3, "\(words[morning]) then \(words[morning + 1])")
            // 6 s of silence, then the first sentence (about 1.5 s).
            #expect(words[0].start >= 5.5 && words[morning].end <= 8.2, "\(words)")
        }
    }

    /// One dithered take of the clip above (Tests/Fixtures/two_sentences_window_loop.flac, kept
    /// because about one take in three did this): tiny.en decodes both sentences as one segment
    /// and then loops into the window's padding. The loop's segments are dropped; before, their
    /// 400 tokens were timed with the kept segment's, which squeezed "Thank you all for coming."
    /// into an instant at the end of the first sentence, and the next window, started at that
    /// word's end, said the second sentence twice more.
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func aLoopPastTheAudioTakesNoFramesFromTheKeptWords() throws {
        let flac = TranscribeCLITests.repository.appendingPathComponent("Tests/Fixtures/two_sentences_window_loop.flac").path
        let segments = try Self.segments(flac)
        Self.checkWords(segments, fileSeconds: 21.35, "loop take")
        #expect(segments.map(\.text) == [" Good morning everyone.", " Thank you all for coming."], "\(segments.map(\.text))")
        let words = segments.flatMap(\.words)
        #expect(words.allSatisfy { $0.end > $0.start }, "a word of no duration: \(words)")
        #expect(words.count == 8, "\(words.map(\.word))")
        if words.count == 8 {
            #expect(words[3].start - words[2].end >= 3, "\(words[2]) then \(words[3])")
            #expect(words[0].start >= 5.5 && words[2].end <= 8.2 && words[3].start >= 12.5, "\(words)")
        }
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func srtCuesAreCutFromWordsAtTheLineWidth() throws {
        let sentences = ["Please remember to bring your umbrella because it might rain later today."]
        let wav = try TranscribeCLITests.speech(sentences)
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let plain = try CLI.run(["transcribe", wav, "--word-timestamps", "--format", "srt", "--threads", "2"], timeout: 300)
        #expect(plain.status == 0, "stderr: \(plain.err)")
        let r = try CLI.run(
            ["transcribe", wav, "--word-timestamps", "--format", "srt", "--max-line-width", "20", "--max-line-count", "1", "--threads", "2"],
            timeout: 300)
        #expect(r.status == 0, "stderr: \(r.err)")
        let cues = r.out.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { $0.split(separator: "\n").map(String.init) }
        let plainCues = plain.out.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(cues.count > plainCues.count, "cut: \(r.out) plain: \(plain.out)")
        var previousEnd = ""
        for (index, cue) in cues.enumerated() {
            #expect(cue.count == 3 && cue[0] == String(index + 1), "\(cue)")
            guard cue.count == 3 else { continue }
            #expect(cue[2].count <= 20 || !cue[2].contains(" "), "line over 20 characters: \(cue[2])")
            let times = cue[1].components(separatedBy: " --> ")
            #expect(times.count == 2 && times[0] <= times[1] && times[0] >= previousEnd, "\(cue[1]) after \(previousEnd)")
            previousEnd = times.last ?? ""
        }
        #expect(TranscribeCLITests.words(cues.map { $0.last ?? "" }.joined(separator: " ")) == TranscribeCLITests.words(plain.out.split(separator: "\n").filter { !$0.contains("-->") && Int($0) == nil }.joined(separator: " ")))
    }

    @Test func lineFlagsWithoutWordsAreUsageErrors() throws {
        let silence = try TranscribeCLITests.silence()
        defer { try? FileManager.default.removeItem(atPath: silence) }
        let r = try CLI.run(["transcribe", silence, "--format", "srt", "--max-line-width", "42"])
        #expect(r.status == 64 && r.err.contains("add --word-timestamps"), "\(r.status): \(r.err)")
        #expect(r.err.split(separator: "\n").first?.contains("--max-line-width") == true, "\(r.err)")
        let count = try CLI.run(["transcribe", silence, "--word-timestamps", "--format", "srt", "--max-line-count", "2"])
        #expect(count.status == 64 && count.err.contains("needs --max-line-width"), "\(count.err)")
        let txt = try CLI.run(["transcribe", silence, "--word-timestamps", "--max-line-width", "42"])
        #expect(txt.status == 64 && txt.err.contains("--format srt"), "\(txt.err)")
        let zero = try CLI.run(["transcribe", silence, "--word-timestamps", "--format", "vtt", "--max-line-width", "0"])
        #expect(zero.status == 64 && zero.err.contains("at least 1"), "\(zero.err)")
        let live = try CLI.run(["transcribe", "--live", "--word-timestamps"])
        #expect(live.status == 64 && live.err.contains("drop it with --live"), "\(live.err)")
    }

    @Test func helpShowsWordTimestampsWithAnExample() throws {
        let r = try CLI.run(["transcribe", "--help"])
        #expect(r.status == 0)
        #expect(r.out.contains("--word-timestamps") && r.out.contains("--max-line-width") && r.out.contains("--max-line-count"))
        #expect(r.out.contains("copilot transcribe talk.wav --word-timestamps --format json"))
    }
}

/// `--batch` (the default) and `--no-batch` give the same transcript: the beams of
/// `--beam-size` advance as one batch or one after another.
@Suite struct TranscribeBatchCLITests {
    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func batchedBeamsGiveTheSameTokensAsBeamsOneAfterAnother() throws {
        let wav = try TranscribeCLITests.speech(["The library opens at nine in the morning."])
        defer { try? FileManager.default.removeItem(atPath: wav) }
        func tokens(_ extra: [String]) throws -> [[Int]] {
            let r = try CLI.run(["transcribe", wav, "--no-vad", "--beam-size", "3", "--format", "json", "--threads", "2"] + extra, timeout: 300)
            #expect(r.status == 0, "stderr: \(r.err)")
            let object = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
            return (object?["segments"] as? [[String: Any]] ?? []).map { $0["tokens"] as? [Int] ?? [] }
        }
        let batched = try tokens([]), sequential = try tokens(["--no-batch"])
        #expect(!batched.isEmpty && batched == sequential, "\(batched) vs \(sequential)")
    }
}
