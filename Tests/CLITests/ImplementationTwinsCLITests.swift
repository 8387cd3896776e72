import Foundation
import Testing

/// `--impl optimized|reference` and `--stats` on `consensus`, `bloom` and `buffer`: the same
/// output from both implementations on the same input, `--stats` naming what ran, and the
/// reference refused where it cannot work (a Bloom filter file, a consensus question).
@Suite struct ImplementationTwinsCLITests {
    init() { signal(SIGPIPE, SIG_IGN) }

    /// Answers of 60 words (over `claim_max_words`, so no claim rules apply): four share most
    /// of their words, two are about something else.
    static let longAnswers: Data = {
        let topic = (0..<60).map { "redis\($0 % 17) port\($0 % 5) config\($0 % 11)" }
        let other = (0..<60).map { "garden\($0 % 13) tomato\($0 % 7)" }
        var lines = ""
        for (index, words) in [topic, topic.reversed(), Array(topic.dropFirst(9)) + ["extra"], other, topic.shuffledBy(7), other.shuffledBy(3)].enumerated() {
            let text = words.prefix(60).joined(separator: " ")
            lines += index == 2 ? "{\"text\": \"\(text)\"}\n" : "{\"expert\": \"e\(index)\", \"text\": \"\(text)\", \"weight\": \(1 + index % 3)}\n"
        }
        return Data(lines.utf8)
    }()

    @Test func consensusReferenceGivesTheSameReport() throws {
        for extra in [["--json", "--matrix"], [], ["--json", "--threshold", "0.4"]] {
            let optimized = try CLI.run(["consensus"] + extra, stdin: Self.longAnswers)
            let reference = try CLI.run(["consensus", "--impl", "reference"] + extra, stdin: Self.longAnswers)
            #expect(optimized.status == 0 && reference.status == 0, "\(optimized.err)\(reference.err)")
            #expect(!optimized.out.isEmpty && optimized.out == reference.out, "\(extra)")
        }
    }

    @Test func consensusStatsSayWhatRan() throws {
        let r = try CLI.run(["consensus", "--stats"], stdin: Self.longAnswers)
        #expect(r.status == 0, "\(r.err)")
        let lines = r.err.split(separator: "\n").map(String.init)
        #expect(lines.first == "implementation: consensus optimized")
        #expect(lines.contains { $0.hasPrefix("self-check: consensus on 5 answers: largest difference of the reports") && $0.contains("tolerance 0") })
        #expect(lines.last?.hasPrefix("time: ") == true)
        let reference = try CLI.run(["consensus", "--stats", "--impl", "reference"], stdin: Self.longAnswers)
        #expect(reference.err.hasPrefix("implementation: consensus reference\ntime: "), "\(reference.err)")
    }

    @Test func consensusReferenceRefusesAQuestion() throws {
        let r = try CLI.run(["consensus", "--impl", "reference", "--question", "Which port?"], stdin: Self.longAnswers)
        #expect(r.status == 64 && r.out.isEmpty)
        #expect(r.err.hasPrefix("Error: --question") && r.err.contains("--impl optimized"), "\(r.err)")
    }

    @Test func unknownImplementationIsRefusedEverywhere() throws {
        for command in [["consensus"], ["bloom", "dedup"], ["bloom", "check", "x.bloom", "a"], ["buffer"]] {
            let r = try CLI.run(command + ["--impl", "fastest"], stdin: Data())
            #expect(r.status == 64, "\(command): \(r.err)")
            let first = r.err.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.contains("'fastest'") && first.contains("--impl") && first.contains("'optimized' and 'reference'"), "\(first)")
        }
    }

    static let repeatedLines: Data = {
        var text = ""
        for i in 0..<20_000 { text += "line-\(i * 7919 % 3001)\n" }
        return Data(text.utf8)
    }()

    @Test func bloomDedupReferencePassesTheSameLines() throws {
        let optimized = try CLI.run(["bloom", "dedup", "--stats"], stdin: Self.repeatedLines)
        let reference = try CLI.run(["bloom", "dedup", "--stats", "--impl", "reference"], stdin: Self.repeatedLines)
        #expect(optimized.status == 0 && reference.status == 0, "\(optimized.err)\(reference.err)")
        #expect(optimized.out.split(separator: "\n").count == 3001 && optimized.out == reference.out)
        #expect(optimized.err.hasPrefix("implementation: bloom optimized\nself-check: bloom on 1000 keys: "), "\(optimized.err)")
        #expect(reference.err.hasPrefix("implementation: bloom reference\ntime: "), "\(reference.err)")
        #expect(reference.err.hasSuffix("dedup: 20000 lines read, 3001 passed\n"))
    }

    @Test func bloomFilesRefuseTheReference() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("seen.bloom").path
        #expect(try CLI.run(["bloom", "create", file, "--capacity", "100"]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: file))
        for command in [["add", file, "alice"], ["check", file, "alice"], ["dedup", file]] {
            let r = try CLI.run(["bloom"] + command + ["--impl", "reference"], stdin: Data("alice\n".utf8))
            #expect(r.status != 0 && r.status < 128 && r.out.isEmpty, "\(command)")
            #expect(r.err.contains(file) && r.err.contains("pass --impl optimized"), "\(r.err)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == before)
        // [general] impl = "reference" asks for the same thing.
        let config = dir.appendingPathComponent("copilot.toml").path
        try "[general]\nimpl = \"reference\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let configured = try CLI.run(["bloom", "add", file, "bob", "--config", config])
        #expect(configured.status == 1 && configured.err.contains(file), "\(configured.err)")
        let added = try CLI.run(["bloom", "add", file, "bob", "--config", config, "--impl", "optimized", "--stats"])
        #expect(added.status == 0 && added.err.hasPrefix("implementation: bloom optimized\ntime: "), "\(added.err)")
    }

    static let noise: Data = {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<96_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }()

    @Test(arguments: [[], ["--frame-ms", "30", "--hop-ms", "10"], ["--frame-ms", "25"], ["--tail", "1"], ["--capacity-ms", "10"]])
    func bufferReferenceDeliversTheSameBytes(shape: [String]) throws {
        let optimized = try CLI.run(["buffer"] + shape, stdin: Self.noise)
        let reference = try CLI.run(["buffer", "--impl", "reference"] + shape, stdin: Self.noise)
        #expect(optimized.status == 0 && reference.status == 0, "\(optimized.err)\(reference.err)")
        #expect(!optimized.stdout.isEmpty && optimized.stdout == reference.stdout, "\(shape)")
    }

    @Test func bufferStatsSayWhatRan() throws {
        let optimized = try CLI.run(["buffer", "--stats"], stdin: Self.noise)
        let lines = optimized.err.split(separator: "\n").map(String.init)
        #expect(lines.first == "implementation: buffer optimized", "\(optimized.err)")
        #expect(lines.contains { $0.hasPrefix("self-check: buffer on 65536 bytes per policy: largest count of bytes delivered differently 0 ") })
        #expect(lines.contains { $0.hasPrefix("time: ") && $0.contains("for 3.0 s of audio") })
        #expect(lines.last?.hasPrefix("buffer: in 96000 bytes, out 96000 bytes") == true)
        let reference = try CLI.run(["buffer", "--stats", "--impl", "reference"], stdin: Self.noise)
        #expect(reference.status == 0 && reference.err.hasPrefix("implementation: buffer reference\ntime: "), "\(reference.err)")
        #expect(reference.err.contains("buffer: in 96000 bytes, out 96000 bytes, overruns 0 bytes"))
    }
}

private extension Array {
    /// A fixed reordering: the elements taken `step` apart, round and round.
    func shuffledBy(_ step: Int) -> [Element] {
        guard !isEmpty else { return self }
        var seen = Set<Int>(), out: [Element] = [], index = 0
        while out.count < count {
            while seen.contains(index) { index = (index + 1) % count }
            seen.insert(index)
            out.append(self[index])
            index = (index + step) % count
        }
        return out
    }
}
