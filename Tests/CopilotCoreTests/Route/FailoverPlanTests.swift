@testable import CopilotCore
import Testing

@Suite struct FailoverPlanTests {
    let policy = RetryPolicy(maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 1000)

    @Test func triesEachCandidateOnceThenBacksOff() {
        let clock = ManualClock()
        var g = SplitMix64(seed: 3)
        var plan = FailoverPlan(candidates: [2, 0, 1], deadlineNs: clock.nowNs + 10_000_000_000, policy: policy)
        #expect(plan.start(now: clock.nowNs) == .attempt(provider: 2, delayNs: 0))
        #expect(plan.next(after: .connection, now: clock.nowNs, using: &g, usable: { _ in true }) == .attempt(provider: 0, delayNs: 0))
        #expect(plan.next(after: .timeout, now: clock.nowNs, using: &g, usable: { _ in true }) == .attempt(provider: 1, delayNs: 0))
        guard case .attempt(_, let delay) = plan.next(after: .connection, now: clock.nowNs, using: &g, usable: { _ in true }) else {
            Issue.record("expected a repeat")
            return
        }
        #expect(delay >= 5_000_000 && delay <= 10_000_000)
        #expect(plan.retries == 1 && plan.fallbacks == 3 && plan.attempts == 4)
    }

    @Test func skipsUnusableAndHonoursRetryAfter() {
        let clock = ManualClock()
        var g = SplitMix64(seed: 3)
        var plan = FailoverPlan(candidates: [0, 1, 2], deadlineNs: clock.nowNs + 10_000_000_000, policy: policy)
        _ = plan.start(now: clock.nowNs)
        // Provider 1's breaker is open: go straight to 2.
        #expect(plan.next(after: .rateLimited(retryAfterMs: 2000), now: clock.nowNs, using: &g, usable: { $0 != 1 })
            == .attempt(provider: 2, delayNs: 0))
        // 2 asks for 500 ms, 0 for 2 s: the repeat goes to 2 after 500 ms (more than the backoff).
        #expect(plan.next(after: .serverError(status: 503, retryAfterMs: 500), now: clock.nowNs, using: &g, usable: { $0 != 1 })
            == .attempt(provider: 2, delayNs: 500_000_000))
    }

    @Test func givesUpOnDeadlineAttemptsAndClientErrors() {
        let clock = ManualClock()
        var g = SplitMix64(seed: 3)
        var plan = FailoverPlan(candidates: [0], deadlineNs: clock.nowNs + 100_000_000, policy: policy)
        _ = plan.start(now: clock.nowNs)
        #expect(plan.next(after: .rateLimited(retryAfterMs: 1000), now: clock.nowNs, using: &g, usable: { _ in true }) == .giveUp(.deadline))

        var short = FailoverPlan(candidates: [0, 1], deadlineNs: clock.nowNs + 10_000_000_000, policy: RetryPolicy(maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1))
        _ = short.start(now: clock.nowNs)
        #expect(short.next(after: .connection, now: clock.nowNs, using: &g, usable: { _ in true }) == .giveUp(.attemptsExhausted))

        var rejected = FailoverPlan(candidates: [0, 1], deadlineNs: clock.nowNs + 10_000_000_000, policy: policy)
        _ = rejected.start(now: clock.nowNs)
        #expect(rejected.next(after: .clientError(status: 400), now: clock.nowNs, using: &g, usable: { _ in true }) == .giveUp(.notRetryable))

        var none = FailoverPlan(candidates: [], deadlineNs: clock.nowNs + 1, policy: policy)
        #expect(none.start(now: clock.nowNs) == .giveUp(.noCandidates))
    }
}
