@testable import CopilotCore
import Testing

@Suite struct CircuitBreakerTests {
    let settings = BreakerSettings(consecutiveFailures: 3, errorRate: 0.5, window: 10, minRequests: 6, cooldownMs: 100, maxCooldownMs: 400)

    @Test func opensAfterConsecutiveFailuresAndProbesOnce() {
        var clock = ManualClock()
        var b = CircuitBreaker(settings: settings)
        for _ in 0..<2 { b.record(success: false, now: clock.nowNs) }
        #expect(b.state == .closed)
        b.record(success: false, now: clock.nowNs)
        #expect(b.state == .open)
        #expect(b.admit(now: clock.nowNs) == .rejected)
        clock.advance(ms: 99)
        #expect(b.admit(now: clock.nowNs) == .rejected)
        clock.advance(ms: 1)
        #expect(b.admit(now: clock.nowNs) == .probe)
        #expect(b.state == .halfOpen)
        #expect(b.admit(now: clock.nowNs) == .rejected, "only one probe at a time")
        b.record(success: true, now: clock.nowNs)
        #expect(b.state == .closed)
        #expect(b.admit(now: clock.nowNs) == .allowed)
    }

    @Test func failedProbesDoubleTheCooldownUpToTheCap() {
        var clock = ManualClock()
        var b = CircuitBreaker(settings: settings)
        for _ in 0..<3 { b.record(success: false, now: clock.nowNs) }
        var expected: [Double] = [200, 400, 400]
        clock.advance(ms: 100)
        while let cooldown = expected.first {
            expected.removeFirst()
            #expect(b.admit(now: clock.nowNs) == .probe)
            b.record(success: false, now: clock.nowNs)
            #expect(b.state == .open)
            clock.advance(ms: cooldown - 1)
            #expect(b.admit(now: clock.nowNs) == .rejected, "cooldown \(cooldown)")
            clock.advance(ms: 1)
        }
        #expect(b.admit(now: clock.nowNs) == .probe)
        b.record(success: true, now: clock.nowNs)
        // A success resets the cooldown to the first value.
        for _ in 0..<3 { b.record(success: false, now: clock.nowNs) }
        clock.advance(ms: 100)
        #expect(b.admit(now: clock.nowNs) == .probe)
    }

    @Test func errorRateNeedsTheMinimumCount() {
        let now = ManualClock().nowNs
        var b = CircuitBreaker(settings: settings)
        // Alternate: never 3 in a row; 50% once 6 are in the window.
        for i in 0..<5 { b.record(success: i % 2 == 1, now: now) }
        #expect(b.state == .closed, "5 outcomes < min 6")
        b.record(success: true, now: now)
        #expect(b.state == .closed, "3 of 6 failed but the last was a success")
        b.record(success: false, now: now)
        #expect(b.state == .open, "4 of 7 failed")
    }

    @Test func oldOutcomesLeaveTheWindow() {
        let now = ManualClock().nowNs
        var b = CircuitBreaker(settings: settings)
        for _ in 0..<2 { b.record(success: false, now: now) }
        for _ in 0..<10 { b.record(success: true, now: now) }
        for _ in 0..<2 { b.record(success: false, now: now) }
        #expect(b.state == .closed, "2 of the last 10 failed")
    }

    @Test func abandonedProbeFreesTheSlot() {
        var clock = ManualClock()
        var b = CircuitBreaker(settings: settings)
        for _ in 0..<3 { b.record(success: false, now: clock.nowNs) }
        clock.advance(ms: 100)
        #expect(b.admit(now: clock.nowNs) == .probe)
        b.releaseProbe()
        #expect(b.admit(now: clock.nowNs) == .probe)
    }
}
