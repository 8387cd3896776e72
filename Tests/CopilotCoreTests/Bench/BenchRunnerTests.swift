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
}
