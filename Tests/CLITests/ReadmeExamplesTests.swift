import Foundation
import Testing

/// Every shell example in README.md runs as pasted, in order, in a directory holding the files
/// the examples name; the few that need a microphone, a server, Redis or an LLM are listed
/// below with the reason, so a new example cannot slip in untested.
@Suite struct ReadmeExamplesTests {
    /// Examples that cannot run in a test, by a text they contain, with the reason.
    static let notRun: [(contains: String, reason: String)] = [
        ("make run", "the set-up itself"),
        ("make test", "the test suite itself"),
        ("arecord", "needs a microphone"),
        ("--device", "needs a sound card"),
        ("mkfifo", "waits for a writer"),
        ("route serve", "runs until stopped (RouteServeCLITests start it)"),
        ("--url http://", "needs a running gateway (RouteServeCLITests)"),
        ("route ask", "asks an LLM (RouteServeCLITests use a fake one)"),
        ("consensus --ask", "asks LLMs (ConsensusAskCLITests use fake ones)"),
        ("route feedback", "scores a request a running gateway answered"),
        ("redis://", "needs Redis (RedisCacheTests start one)"),
        ("copilot bench --quick", "a benchmark run (minutes in a debug build)"),
        ("copilot bench --verify", "runs the slow reference on bench-sized input"),
        ("copilot bench --filter", "a benchmark run"),
    ]

    /// The shell lines of README.md's ```sh blocks, comments and blank lines left out.
    static func examples() throws -> [String] {
        let text = try String(contentsOf: TranscribeCLITests.repository.appendingPathComponent("README.md"), encoding: .utf8)
        var lines: [String] = []
        var inShell = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                inShell = line == "```sh"
                continue
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if inShell && !trimmed.isEmpty && !trimmed.hasPrefix("#") { lines.append(line) }
        }
        return lines
    }

    /// The files the examples read, made from espeak-ng speech, a minimal route.toml, and the
    /// cached answer to request.json.
    static let fixtures = """
        set -e
        make() { "$REPO/Tests/Fixtures/make_speech.sh" "$@"; }
        make talk.wav "Can the launch move to the second week of March?"
        make --pause 1.5 meeting.wav "Thanks for joining." "Today we review the quarterly budget."
        make --pause 2 long-meeting.wav "Good morning." "Let us begin with the roadmap." "Any questions?"
        cp talk.wav speech.wav
        for f in talk meeting long-meeting speech; do sox "$f.wav" "$f.flac"; done
        sox talk.wav -t raw -e signed -b 16 -r 16000 -c 1 speech.raw
        cp speech.raw live.raw
        copilot convert talk.wav --to podcast.mp3
        printf 'alice\\nbob\\ncarol\\n' > ids.txt
        printf 'what is the budget?\\nwhen is the launch?\\nwhat is the budget?\\n' > questions.txt
        printf 'https://a.example\\nhttps://b.example\\nhttps://a.example\\n' > urls.txt
        printf 'alice\\ndave\\n' > today.txt
        printf '%s\\n' '{"expert": "a", "text": "Canberra is the capital of Australia."}' \\
            '{"expert": "b", "text": "The capital of Australia is Canberra."}' \\
            '{"expert": "c", "text": "Sydney."}' > answers.jsonl
        printf '%s' '{"model": "llama3.2", "messages": [{"role": "user", "content": "Summarise the call"}]}' > request.json
        printf '%s' '{"choices": [{"message": {"role": "assistant", "content": "The launch moves."}}]}' \
            | copilot cache set "$(copilot cache key < request.json)"
        printf '[[route.providers]]\\nname = "local"\\nbase_url = "http://127.0.0.1:11434/v1"\\nmodels = ["llama3.2"]\\n' > route.toml
        copilot bloom create day1.bloom --capacity 1000 && copilot bloom add day1.bloom alice
        copilot bloom create day2.bloom --capacity 1000 && copilot bloom add day2.bloom bob
        """

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func everyExampleRunsAsPasted() throws {
        let examples = try Self.examples()
        #expect(examples.count > 50, "README examples: \(examples.count)")
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let environment = [
            "REPO": TranscribeCLITests.repository.path, "HOME": dir.path, "XDG_CACHE_HOME": dir.appendingPathComponent("cache").path,
        ]
        let setUp = try CLI.shell(Self.fixtures, in: dir, environment: environment)
        try #require(setUp.status == 0, "fixtures: \(setUp.err)")
        var ran = 0
        for example in examples {
            if Self.notRun.contains(where: { example.contains($0.contains) }) { continue }
            let r = try CLI.shell("set -o pipefail\n" + example, in: dir, environment: environment, timeout: 300)
            #expect(r.status == 0, "`\(example)` exited \(r.status): \(r.err)")
            ran += 1
        }
        #expect(ran >= 45, "ran \(ran) of \(examples.count)")
        // What the examples wrote is there.
        for file in ["meeting.srt", "meeting.vtt", "new-questions.txt", "unique.txt", "speech.npy", "window.f32", "meeting16k.wav", "all.bloom"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), "\(file) missing")
        }
        #expect(try String(contentsOf: dir.appendingPathComponent("new-questions.txt"), encoding: .utf8).split(separator: "\n").count == 2)
    }

    @Test func everySkippedExampleStillExists() throws {
        let examples = try Self.examples()
        for skip in Self.notRun {
            #expect(examples.contains { $0.contains(skip.contains) }, "no README example contains \(skip.contains): drop it from notRun")
        }
    }
}
