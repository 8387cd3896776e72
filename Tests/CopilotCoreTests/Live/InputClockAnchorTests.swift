@testable import CopilotCore
import Testing

/// The live pipeline's estimate of when a real-time input began, from its reads alone.
@Suite struct InputClockAnchorTests {
    @Test func aBacklogReadAtOnceDoesNotMoveTheStartLater() {
        // Capture began at 10 s; the run started reading at 11.5 s (the model was loading),
        // found 1.5 s waiting in the pipe and got it in three quick reads, then real time.
        let rate = 16_000, chunk = 8_000  // 0.5 s
        let t0: UInt64 = 10_000_000_000
        var anchor = InputClockAnchor()
        var samples = 0
        for i in 0..<3 {
            samples += chunk
            anchor.observe(returnNs: 11_500_000_000 + UInt64(i) * 1_000_000, samples: samples, rate: rate)
        }
        #expect(anchor.startNs! > t0, "after the backlog alone the bound is still loose")
        for _ in 0..<20 {
            samples += chunk
            // Each later read returns when its last sample has been captured, plus 3 ms.
            let captured = t0 + UInt64(samples) * 1_000_000_000 / UInt64(rate)
            anchor.observe(returnNs: captured + 3_000_000, samples: samples, rate: rate)
        }
        let start = try! #require(anchor.startNs)
        #expect(start >= t0 && start - t0 <= 3_000_000, "within one read's delay of the true start")
        // A lag measured from the run's start (11.5 s) would have been 1.5 s short.
    }

    @Test func noReadNoEstimate() {
        #expect(InputClockAnchor().startNs == nil)
        var anchor = InputClockAnchor()
        anchor.observe(returnNs: 100, samples: 16_000, rate: 16_000)  // a clock before the audio: clamped
        #expect(anchor.startNs == 0)
    }
}
