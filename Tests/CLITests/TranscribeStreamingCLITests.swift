import CopilotCore
import Foundation
import Testing

/// `copilot transcribe FILE` reads, resamples and transcribes window by window: a file longer
/// than one window gives the same transcript from a WAV file, a FLAC file at another rate and
/// a WAV piped on stdin, and a file cut short is still one error line naming it.
@Suite struct TranscribeStreamingCLITests {
    /// About 40 s: five sentences with pauses of 2 to 8 s.
    static func longClip(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("long.wav").path
        let parts = try [
            ("My brother likes to cook pasta with fresh tomatoes and basil.", 3),
            ("The train to the city was delayed because of the heavy snow.", 8),
            ("We planted a small garden behind the house last spring.", 2),
            ("Our teacher asked us to read the first chapter before Monday.", 6),
            ("The museum has a new exhibition about ancient ships.", 1),
        ].enumerated().map { index, part in
            let sentence = dir.appendingPathComponent("s\(index).wav").path
            let make = try CLI.shell(
                "'\(TranscribeCLITests.repository.path)/Tests/Fixtures/make_speech.sh' '\(sentence)' '\(part.0)' && sox -n -r 16000 -c 1 -b 16 '\(sentence).pause.wav' trim 0 \(part.1)",
                in: dir)
            #expect(make.status == 0, "\(make.err)")
            return "'\(sentence)' '\(sentence).pause.wav'"
        }
        let join = try CLI.shell("sox \(parts.joined(separator: " ")) '\(path)'", in: dir)
        #expect(join.status == 0, "\(join.err)")
        return path
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func fileFlacAndStdinGiveTheSameTranscript() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = try Self.longClip(in: dir)
        for vad in ["--vad", "--no-vad"] {
            let file = try CLI.run(["transcribe", wav, vad, "--format", "json", "--threads", "2"], timeout: 300)
            #expect(file.status == 0, "stderr: \(file.err)")
            #expect(file.out.contains("exhibition"), "\(vad): \(file.out)")
            let piped = try CLI.shell("copilot transcribe \(vad) --format json --threads 2 < '\(wav)'", in: dir, timeout: 300)
            #expect(piped.status == 0 && piped.out == file.out, "\(vad) stdin: \(piped.out) stderr: \(piped.err)")
        }
        // Another container and rate: decoded and resampled block by block, as before.
        let flac = dir.appendingPathComponent("long.flac").path
        #expect(try CLI.shell("sox '\(wav)' -r 44100 '\(flac)'", in: dir).status == 0)
        let a = try CLI.run(["transcribe", flac, "--threads", "2"], timeout: 300)
        #expect(a.status == 0 && a.out.contains("teacher"), "stdout: \(a.out) stderr: \(a.err)")
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func aFileCutShortIsOneErrorLineNamingIt() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = try Self.longClip(in: dir)
        let cut = dir.appendingPathComponent("cut.wav").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: wav))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        for vad in ["--vad", "--no-vad"] {
            let r = try CLI.run(["transcribe", cut, vad, "--threads", "2"], timeout: 300)
            #expect(r.status == 1, "\(vad): status \(r.status), stderr: \(r.err)")
            #expect(r.err.contains(cut) && r.err.split(separator: "\n").count == 1, "\(vad) stderr: \(r.err)")
        }
    }
}
