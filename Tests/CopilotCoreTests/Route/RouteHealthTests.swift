@testable import CopilotCore
import Testing

@Suite struct RouteHealthTests {
    @Test func ewmasMoveTowardObservations() {
        var h = RouteHealth(alpha: 0.5)
        #expect(h.successRate == 1 && h.latencyEwmaMs == nil)
        h.recordSuccess(latencyMs: 100, ttftMs: 10)
        #expect(h.latencyEwmaMs == 100 && h.ttftEwmaMs == 10)
        h.recordSuccess(latencyMs: 200, ttftMs: 30)
        #expect(h.latencyEwmaMs == 150 && h.ttftEwmaMs == 20)
        h.recordFailure()
        #expect(h.successRate == 0.5)
        #expect(h.successes == 2 && h.failures == 1)
    }

    @Test func percentilesAreNearestRankOverTheWindow() {
        var h = RouteHealth()
        #expect(h.latencyPercentile(0.5) == nil)
        for ms in 1...100 { h.recordSuccess(latencyMs: Double(ms), ttftMs: Double(101 - ms)) }
        #expect(h.latencyPercentile(0.5) == 50)
        #expect(h.latencyPercentile(0.95) == 95)
        #expect(h.ttftPercentile(0.99) == 99)
        #expect(h.latencyPercentile(1) == 100 && h.latencyPercentile(0) == 1)
        // Past the capacity the oldest samples go.
        for _ in 0..<RouteHealth.sampleCapacity { h.recordSuccess(latencyMs: 500, ttftMs: 5) }
        #expect(h.latencyPercentile(0.01) == 500)
        #expect(h.ttftSampleCount == RouteHealth.sampleCapacity)
    }
}
