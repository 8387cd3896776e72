@testable import CopilotCore
import Testing

@Suite struct RetryPolicyTests {
    @Test func backoffDoublesWithJitterAndIsCapped() {
        let policy = RetryPolicy(maxAttempts: 9, baseDelayMs: 10, maxDelayMs: 100)
        var g = SplitMix64(seed: 1)
        for retry in 1...8 {
            let capMs = min(100.0, 10 * Double(1 << (retry - 1)))
            for _ in 0..<50 {
                let ms = Double(policy.backoffNs(retry: retry, using: &g)) / 1e6
                #expect(ms >= capMs / 2 && ms <= capMs, "retry \(retry): \(ms) ms")
            }
        }
    }

    @Test func retryAfterParsing() {
        #expect(RetryPolicy.parseRetryAfterMs("2") == 2000)
        #expect(RetryPolicy.parseRetryAfterMs(" 0.25 ") == 250)
        #expect(RetryPolicy.parseRetryAfterMs("-1") == nil)
        #expect(RetryPolicy.parseRetryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT") == nil)
    }

    @Test func statusClassification() {
        #expect(AttemptFailure.forStatus(429, retryAfter: "3") == .rateLimited(retryAfterMs: 3000))
        #expect(AttemptFailure.forStatus(503, retryAfter: nil) == .serverError(status: 503, retryAfterMs: nil))
        #expect(AttemptFailure.forStatus(400, retryAfter: nil) == .clientError(status: 400))
        #expect(!AttemptFailure.clientError(status: 401).isRetryable)
        #expect(AttemptFailure.forStatus(408, retryAfter: nil).isRetryable)
    }

    @Test func hedgeWaitsForHistoryThenUsesP95() {
        let policy = HedgePolicy(minSamples: 10, minDelayMs: 5)
        var h = RouteHealth()
        for ms in 1...9 { h.recordSuccess(latencyMs: 100, ttftMs: Double(ms * 10)) }
        #expect(policy.hedgeDelayNs(primary: &h, candidates: 2) == nil)
        h.recordSuccess(latencyMs: 100, ttftMs: 100)
        #expect(policy.hedgeDelayNs(primary: &h, candidates: 1) == nil)
        #expect(policy.hedgeDelayNs(primary: &h, candidates: 2) == 100_000_000)
        var fast = RouteHealth()
        for _ in 0..<10 { fast.recordSuccess(latencyMs: 1, ttftMs: 1) }
        #expect(policy.hedgeDelayNs(primary: &fast, candidates: 3) == 5_000_000, "floor")
    }
}
