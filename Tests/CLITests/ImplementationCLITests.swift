import Foundation
import Testing

/// `--impl optimized|reference`, `[general] impl` and `--stats` on the subcommands whose
/// components have a CopilotReference twin.
@Suite struct ImplementationCLITests {
    init() { signal(SIGPIPE, SIG_IGN) }

    static let bursts = vadAudio([(1, 0), (0.6, 0.3), (1, 0), (0.9, 0.3), (0.5, 0)])

    @Test func vadReferenceFindsTheSameSegments() throws {
        let optimized = try CLI.run(["vad", "--format", "json"], stdin: Self.bursts)
        let reference = try CLI.run(["vad", "--format", "json", "--impl", "reference"], stdin: Self.bursts)
        #expect(optimized.status == 0 && reference.status == 0, "\(optimized.err)\(reference.err)")
        #expect(optimized.out.split(separator: "\n").count == 2)
        // The reference computes in Double: the same segments, probabilities within 0.001.
        #expect(optimized.out.replacingOccurrences(of: #""probability":[0-9.]+"#, with: "", options: .regularExpression)
            == reference.out.replacingOccurrences(of: #""probability":[0-9.]+"#, with: "", options: .regularExpression))
        #expect(optimized.err.isEmpty && reference.err.isEmpty)
    }

    @Test func statsSayWhatRanAndItsSelfCheck() throws {
        let r = try CLI.run(["vad", "--stats"], stdin: Self.bursts)
        #expect(r.status == 0, "\(r.err)")
        let lines = r.err.split(separator: "\n").map(String.init)
        #expect(lines.first == "implementation: vad optimized")
        #expect(lines.contains { $0.hasPrefix("self-check: vad (default) on 0.15 s synthetic speech") && $0.contains("tolerance 0.002") })
        #expect(lines.last?.hasPrefix("time: ") == true && lines.last?.contains("for 4.0 s of audio") == true)
        let energy = try CLI.run(["vad", "--stats", "--detector", "energy", "--impl", "reference"], stdin: Self.bursts)
        #expect(energy.err.hasPrefix("implementation: vad reference\ntime: "))
    }

    @Test func configurationChoosesTheReference() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("copilot.toml").path
        try "[general]\nimpl = \"reference\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let r = try CLI.run(["vad", "--stats", "--config", config], stdin: Self.bursts)
        #expect(r.status == 0 && r.err.hasPrefix("implementation: vad reference\n"), "\(r.err)")
        // The flag wins over the file.
        let flag = try CLI.run(["vad", "--stats", "--config", config, "--impl", "optimized"], stdin: Self.bursts)
        #expect(flag.err.hasPrefix("implementation: vad optimized\n"), "\(flag.err)")
        try "[general]\nimpl = \"fastest\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let bad = try CLI.run(["vad", "--config", config], stdin: Self.bursts)
        #expect(bad.status != 0 && bad.status < 128)
        #expect(bad.err.contains("general.impl") && bad.err.contains("\"optimized\", \"reference\""), "\(bad.err)")
    }

    @Test func unknownImplementationIsRefused() throws {
        let r = try CLI.run(["mel", "--impl", "turbo"], stdin: Data())
        #expect(r.status == 64, "\(r.err)")
        #expect(r.err.contains("--impl") && r.err.contains("optimized") && r.err.contains("reference"))
    }

    @Test func melReferenceAgreesWithTheOptimizedFeatures() throws {
        func features(_ extra: [String]) throws -> [Float] {
            let r = try CLI.run(["mel", "--raw", "f32le", "--format", "f32le"] + extra, stdin: MelCLITests.toneF32)
            #expect(r.status == 0, "\(r.err)")
            return r.stdout.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        let optimized = try features([]), reference = try features(["--impl", "reference"])
        #expect(optimized.count == 80 * 101 && reference.count == optimized.count)
        let worst = zip(optimized, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4)
        let stats = try CLI.run(["mel", "--raw", "f32le", "--format", "f32le", "--stats"], stdin: MelCLITests.toneF32)
        #expect(stats.err.hasPrefix("implementation: mel optimized\nself-check: mel on "), "\(stats.err)")
    }

    @Test(.enabled(if: TranscribeCLITests.modelDirectory != nil, TranscribeCLITests.needsModel))
    func transcribeChecksItsKernelsBeforeTrustingThem() throws {
        let wav = try TranscribeCLITests.speech(["Check the kernels first."])
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let r = try CLI.run(["transcribe", wav, "--threads", "2", "--stats"])
        #expect(r.status == 0, "\(r.err)")
        let lines = r.err.split(separator: "\n").map(String.init)
        #expect(lines.first == "implementation: transcribe optimized")
        #expect(lines.contains { $0.hasPrefix("optimized kernels: OpenBLAS") })
        for component in ["mel", "whisper encoder", "whisper decoder"] {
            #expect(lines.contains { $0.hasPrefix("self-check: \(component) on ") }, "\(component) in \(r.err)")
        }
        #expect(!r.out.isEmpty)
    }
}

extension ImplementationCLITests {
    @Test func verifyComparesEveryComponentSoItTakesNoFilter() throws {
        let r = try CLI.run(["bench", "--verify", "--filter", "vad"])
        #expect(r.status == 64 && r.err.contains("--verify compares every component"), "\(r.err)")
        let help = try CLI.run(["bench", "--help"])
        #expect(help.out.contains("--verify"))
    }
}
