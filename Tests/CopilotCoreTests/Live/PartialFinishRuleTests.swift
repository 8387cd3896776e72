import CopilotCore
import Testing

/// When a running partial gives way to a speculation: times in ms, as monotonic nanoseconds.
@Suite struct PartialFinishRuleTests {
    func ns(_ ms: Double) -> UInt64 { UInt64(ms * 1e6) }

    /// Close delay 270 ms, slack 60 ms, last speculation 250 ms: a partial may run until
    /// 80 ms after the speculation's request, if it is expected to end by then.
    func rule(lastPartialMs: Double = 200) -> PartialFinishRule {
        var rule = PartialFinishRule(closeDelaySeconds: 0.27, slackSeconds: 0.06)
        rule.lastFinalSeconds = 0.25
        rule.lastPartialSeconds = lastPartialMs / 1000
        return rule
    }

    @Test func noRequestNeverStops() {
        #expect(!rule().shouldStop(startedNs: ns(1000), request: nil, nowNs: ns(5000)))
    }

    @Test func urgentRequestsStopAtOnce() {
        #expect(rule().shouldStop(startedNs: ns(1000), request: (ns(1100), true), nowNs: ns(1100)))
    }

    /// Started at 1000 and expected to take 220 ms: it ends at 1220, so a speculation asked
    /// for at 1150 (deadline 1230) waits for it, until the deadline; one asked for at 1100
    /// (deadline 1180) does not.
    @Test func aPartialAlmostDoneFinishesBeforeTheSpeculation() {
        let r = rule()
        #expect(!r.shouldStop(startedNs: ns(1000), request: (ns(1150), false), nowNs: ns(1160)))
        #expect(!r.shouldStop(startedNs: ns(1000), request: (ns(1150), false), nowNs: ns(1229)))
        #expect(r.shouldStop(startedNs: ns(1000), request: (ns(1150), false), nowNs: ns(1231)))
        #expect(r.shouldStop(startedNs: ns(1000), request: (ns(1100), false), nowNs: ns(1101)))
    }

    /// Before any partial or speculation was timed, and when speculations take longer than
    /// the close delay, only the slack is left.
    @Test func withoutMeasurementsOrTimeAPartialGivesWay() {
        let fresh = PartialFinishRule(closeDelaySeconds: 0.27, slackSeconds: 0.06)
        #expect(fresh.shouldStop(startedNs: ns(1000), request: (ns(1199), false), nowNs: ns(1199)))
        var slow = rule(lastPartialMs: 100)
        slow.lastFinalSeconds = 0.5
        // Expected end 1110, deadline 1100 + 60: finishes.
        #expect(!slow.shouldStop(startedNs: ns(1000), request: (ns(1100), false), nowNs: ns(1105)))
        // Expected end 1110, deadline 1040 + 60: gives way.
        #expect(slow.shouldStop(startedNs: ns(1000), request: (ns(1040), false), nowNs: ns(1041)))
    }
}
