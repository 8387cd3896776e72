import CopilotCore
import Foundation
import Testing

@Suite struct BenchRunnerTests {
    @Test func medianOfOddAndEven() {
        #expect(BenchRunner.median([3, 1, 2]) == 2)
        #expect(BenchRunner.median([4, 1, 3, 2]) == 2.5)
    }

    @Test func resultCarriesSpeedupAndThroughput() throws {
        let slow = BenchCase(name: "t/slow", unit: "items", unitsPerOp: 1000, audioSecondsPerOp: 1) {
            BenchOperations(reference: { usleep(2000) }, optimized: { usleep(200) })
        }
        let r = try BenchRunner(minRuns: 3, maxRuns: 3, budgetSeconds: 0).run(slow)
        #expect(r.runs == 3)
        #expect(r.referenceNsPerOp >= 2_000_000)
        #expect(abs(r.speedup - r.referenceNsPerOp / r.optimizedNsPerOp) < 1e-9)
        #expect(abs(r.optimizedThroughput - 1000 / (r.optimizedNsPerOp / 1e9)) < 1e-6)
        #expect(r.optimizedTimesRealtime != nil)
    }

    @Test func jsonHasTheRequiredKeys() throws {
        let c = BenchCase(name: "a", unit: "MB", unitsPerOp: 1) {
            BenchOperations(reference: { benchBlackHole(1) }, optimized: { benchBlackHole(2) })
        }
        let r = try BenchRunner(minRuns: 1, maxRuns: 1, budgetSeconds: 0).run(c)
        let json = try BenchReport.json([r])
        let array = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
        let object = try #require(array?.first)
        for key in ["name", "unit", "reference_ns_per_op", "optimized_ns_per_op", "speedup"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(BenchReport.markdown([r]).contains("| a | reference |"))
    }

    /// A case with its own run count gets exactly that many runs and no warm-up; its outcome
    /// (word error rate, audio held) reaches the JSON and the table; the prepared input's
    /// audio length replaces the case's.
    @Test func aCaseWithItsOwnRunsAndOutcome() throws {
        let counts = Counts()
        let c = BenchCase(name: "t/clip", unit: "clips", unitsPerOp: 1, audioSecondsPerOp: 1, runs: 2) {
            BenchOperations(
                reference: { counts.add(optimized: false) }, optimized: { counts.add(optimized: true) }, audioSeconds: 3600,
                outcome: { (BenchOutcome(wordErrorRate: 0.25, heldSeconds: 31), BenchOutcome(wordErrorRate: 0, heldSeconds: 12)) })
        }
        let r = try BenchRunner(minRuns: 5, maxRuns: 31, budgetSeconds: 10).run(c)
        #expect(r.runs == 2)
        #expect(counts.total == (reference: 2, optimized: 2))
        #expect(r.referenceWordErrorRate == 0.25 && r.optimizedWordErrorRate == 0)
        #expect(r.referenceHeldSeconds == 31 && r.optimizedHeldSeconds == 12)
        #expect(try #require(r.optimizedTimesRealtime) > 3600 / (r.optimizedNsPerOp / 1e9) * 0.999)
        let markdown = BenchReport.markdown([r])
        #expect(markdown.contains("WER 0.250, held 31 s)"), "\(markdown)")
        #expect(markdown.contains("WER 0.000, held 12 s)"), "\(markdown)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(BenchReport.json([r]).utf8)) as? [[String: Any]]).first
        #expect(object?["reference_wer"] as? Double == 0.25)
        #expect(object?["optimized_held_seconds"] as? Double == 12)
    }

    /// A case without an outcome has no such keys and no such notes.
    @Test func aCaseWithoutAnOutcomeHasNoQualityKeys() throws {
        let c = BenchCase(name: "a", unit: "MB", unitsPerOp: 1) {
            BenchOperations(reference: { benchBlackHole(1) }, optimized: { benchBlackHole(2) })
        }
        let r = try BenchRunner(minRuns: 1, maxRuns: 1, budgetSeconds: 0).run(c)
        let json = try BenchReport.json([r])
        #expect(!json.contains("_wer") && !json.contains("held"))
        #expect(!BenchReport.markdown([r]).contains("WER"))
    }

    /// An outcome that throws (a transcription run failed) fails the case.
    @Test func aFailedOutcomeFailsTheCase() {
        struct Failed: Error {}
        let c = BenchCase(name: "t/fails", unit: "clips", unitsPerOp: 1, runs: 1) {
            BenchOperations(reference: {}, optimized: {}, outcome: { throw Failed() })
        }
        #expect(throws: Failed.self) { try BenchRunner(quick: true).run(c) }
    }
}

/// Runs counted per side, from the bench's `Sendable` closures.
private final class Counts: @unchecked Sendable {
    private let lock = NSLock()
    private var reference = 0, optimized = 0

    func add(optimized isOptimized: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if isOptimized { optimized += 1 } else { reference += 1 }
    }

    var total: (reference: Int, optimized: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (reference, optimized)
    }
}
