@testable import CopilotCore
import CopilotReference
import Testing

@Suite struct RouterTests {
    @Test func filtersByModelTierCapabilityAndConcurrency() {
        var providers = RouteFixtures.providers(4)
        providers[1].tier = "premium"
        providers[2].capabilities = ["code"]
        providers[3].models = ["other"]
        providers[3].aliases = ["m"]
        providers[0].maxConcurrency = 1
        let task = TaskSettings(name: "code", tiers: ["default"], capabilities: ["code"])
        var router = ProviderRouter(settings: RouteFixtures.settings(providers, tasks: [task]), selector: HealthWeightedSelector())
        let now = ManualClock().nowNs
        let d = router.decide(model: "m", task: "code", now: now)
        #expect(d.ranked.map(\.provider) == [2])
        #expect(d.excluded.map(\.provider) == [0, 1, 3])
        #expect(d.excluded.map(\.reason) == [.capability, .tier, .capability])

        let any = router.decide(model: "m", now: now)
        #expect(Set(any.ranked.map(\.provider)) == [0, 1, 2, 3], "alias m reaches p3")
        #expect(router.upstreamModel(provider: 3, requested: "m") == "other")
        #expect(router.acquire(0, now: now) == true)
        #expect(router.acquire(0, now: now) == false, "max_concurrency 1")
        #expect(router.decide(model: "m", now: now).excluded.contains { $0.provider == 0 && $0.reason == .concurrency })
        router.release(0, outcome: nil, now: now)
        #expect(router.decide(model: "unknown", now: now).ranked.isEmpty)
        #expect(!router.serves("unknown"))
    }

    @Test func openBreakerRemovesAProviderUntilItsProbeSucceeds() {
        var clock = ManualClock()
        var router = ProviderRouter(settings: RouteFixtures.settings(RouteFixtures.providers(2)), selector: HealthWeightedSelector())
        for _ in 0..<BreakerSettings.defaults.consecutiveFailures {
            #expect(router.acquire(1, now: clock.nowNs) == true)
            router.release(1, outcome: RouteOutcome(provider: 1, task: nil, success: false, latencyMs: 1, ttftMs: 1), now: clock.nowNs)
        }
        #expect(router.breakerState(1, now: clock.nowNs) == .open)
        for _ in 0..<50 { #expect(router.decide(model: "m", now: clock.nowNs).ranked.map(\.provider) == [0]) }
        clock.advance(ms: Double(BreakerSettings.defaults.cooldownMs))
        #expect(router.breakerState(1, now: clock.nowNs) == .halfOpen)
        #expect(router.acquire(1, now: clock.nowNs) == true, "the probe")
        #expect(router.acquire(1, now: clock.nowNs) == false, "one probe at a time")
        router.release(1, outcome: RouteOutcome(provider: 1, task: nil, success: true, latencyMs: 1, ttftMs: 1), now: clock.nowNs)
        #expect(router.breakerState(1, now: clock.nowNs) == .closed)
    }

    @Test func aRetryAfterKeepsAProviderLastForLaterRequestsUntilItEnds() {
        var clock = ManualClock()
        var router = ProviderRouter(settings: RouteFixtures.settings(RouteFixtures.providers(3)), selector: HealthWeightedSelector())
        // Provider 1 answers one request with 429 and Retry-After: 30 s.
        var plan = FailoverPlan(candidates: [1, 0, 2], deadlineNs: clock.nowNs + 60_000_000_000, policy: .defaults)
        _ = plan.start(now: clock.nowNs)
        #expect(router.next(&plan, after: .rateLimited(retryAfterMs: 30_000), now: clock.nowNs) == .attempt(provider: 0, delayNs: 0))
        for _ in 0..<200 {
            let d = router.decide(model: "m", now: clock.nowNs)
            #expect(d.ranked.last?.provider == 1 && d.pick != 1, "while it waits, every other provider goes first")
        }
        clock.advance(ms: 30_001)
        var firsts = Set<Int>()
        for _ in 0..<200 { firsts.insert(router.decide(model: "m", now: clock.nowNs).pick ?? -1) }
        #expect(firsts.contains(1), "after its Retry-After it is drawn again")
    }

    @Test func whenEveryProviderIsWaitingTheRequestWaitsForTheSoonestWithinItsDeadline() {
        let clock = ManualClock()
        var router = ProviderRouter(settings: RouteFixtures.settings(RouteFixtures.providers(2)), selector: HealthWeightedSelector())
        for (provider, ms) in [(0, 2_000), (1, 500)] {
            var plan = FailoverPlan(candidates: [provider], deadlineNs: clock.nowNs + 60_000_000_000, policy: .defaults)
            _ = plan.start(now: clock.nowNs)
            _ = router.next(&plan, after: .serverError(status: 503, retryAfterMs: ms), now: clock.nowNs)
        }
        let d = router.decide(model: "m", now: clock.nowNs)
        #expect(d.ranked.map(\.provider) == [1, 0], "soonest first")
        var plan = router.plan(for: d)
        #expect(plan.start(now: clock.nowNs) == .attempt(provider: 1, delayNs: 500_000_000))
        var short = FailoverPlan(candidates: [1, 0], deadlineNs: clock.nowNs + 100_000_000, policy: .defaults, notBeforeNs: [clock.nowNs + 500_000_000, clock.nowNs + 2_000_000_000])
        #expect(short.start(now: clock.nowNs) == .giveUp(.deadline), "a wait past the deadline is not started")
        // A day-long Retry-After is held only for the breaker's longest cooldown.
        var plan2 = FailoverPlan(candidates: [0], deadlineNs: clock.nowNs + 60_000_000_000, policy: .defaults)
        _ = plan2.start(now: clock.nowNs)
        _ = router.next(&plan2, after: .rateLimited(retryAfterMs: 86_400_000), now: clock.nowNs)
        #expect(router.notBeforeNs[0] == clock.nowNs + UInt64(BreakerSettings.defaults.maxCooldownMs) * 1_000_000)
    }

    @Test func healthierProvidersRankFirst() {
        let now = ManualClock().nowNs
        var router = ProviderRouter(settings: RouteFixtures.settings(RouteFixtures.providers(3)), selector: HealthWeightedSelector())
        for _ in 0..<20 {
            for i in 0..<3 {
                _ = router.acquire(i, now: now)
                router.release(i, outcome: RouteOutcome(provider: i, task: nil, success: i != 2, latencyMs: i == 0 ? 2000 : 50, ttftMs: 10), now: now)
            }
            router.release(2, outcome: nil, now: now)
        }
        var firsts = [0, 0, 0]
        for _ in 0..<1000 { firsts[router.decide(model: "m", now: now).pick ?? 0] += 1 }
        #expect(firsts[1] > firsts[0] && firsts[0] > firsts[2], "\(firsts)")
    }

    @Test func sameSeedSameDecisions() {
        let settings = RouteFixtures.settings(RouteFixtures.providers(5), seed: 11)
        var a = ProviderRouter(settings: settings, selector: HealthWeightedSelector())
        var b = ProviderRouter(settings: settings, selector: HealthWeightedSelector())
        let now = ManualClock().nowNs
        for _ in 0..<100 { #expect(a.decide(model: "m", now: now) == b.decide(model: "m", now: now)) }
    }

    /// With no history and nothing to filter, the router's first choice is the reference's
    /// static weighted draw: same seed, same picks.
    @Test(arguments: [1, 2, 3, 10])
    func agreesWithTheReferenceWhenAllAreHealthy(count: Int) {
        var providers = RouteFixtures.providers(count)
        for i in providers.indices { providers[i].weight = Double(i + 1) }
        providers.append(ProviderSettings(name: "x", baseURL: "http://127.0.0.1:1/v1", models: ["other"]))
        let settings = RouteFixtures.settings(providers, seed: UInt64(count))
        var router = ProviderRouter(settings: settings, selector: HealthWeightedSelector())
        var reference = ReferenceRouter(providers: providers, seed: UInt64(count))
        let now = ManualClock().nowNs
        for _ in 0..<500 {
            #expect(router.decide(model: "m", now: now).pick == reference.pick(model: "m"))
        }
        #expect(reference.pick(model: "none") == nil && router.decide(model: "none", now: now).pick == nil)
    }

    @Test func rankedOrderIsPickThenDescendingScore() {
        var providers = RouteFixtures.providers(5)
        for i in providers.indices { providers[i].weight = Double(5 - i) }
        var router = ProviderRouter(settings: RouteFixtures.settings(providers), selector: HealthWeightedSelector())
        let now = ManualClock().nowNs
        for _ in 0..<100 {
            let ranked = router.decide(model: "m", now: now).ranked
            #expect(ranked.count == 5)
            let rest = ranked.dropFirst().map(\.score)
            #expect(rest == rest.sorted(by: >))
        }
    }

    /// A selector from outside the module plugs in through `ModelSelecting` and learns from outcomes.
    struct PreferLast: ModelSelecting {
        var observed = 0
        mutating func rank(_ candidates: inout [RouteCandidate], for request: RouteRequest, view: RouteView, using generator: inout SplitMix64) {
            candidates.reverse()
        }
        mutating func observe(_ outcome: RouteOutcome) { observed += 1 }
    }

    @Test func customSelectorPlugsIn() {
        var router = ProviderRouter(settings: RouteFixtures.settings(RouteFixtures.providers(3)), selector: PreferLast())
        let now = ManualClock().nowNs
        #expect(router.decide(model: "m", now: now).ranked.map(\.provider) == [2, 1, 0])
        _ = router.acquire(2, now: now)
        router.release(2, outcome: RouteOutcome(provider: 2, task: nil, success: true, latencyMs: 1, ttftMs: 1), now: now)
        #expect(router.selector.observed == 1)
    }

    @Test func taskBudgetSetsTheDeadline() {
        let task = TaskSettings(name: "quick", latencyBudgetMs: 250)
        var router = ProviderRouter(settings: RouteFixtures.settings(RouteFixtures.providers(1), tasks: [task]), selector: HealthWeightedSelector())
        let now = ManualClock().nowNs
        #expect(router.decide(model: "m", task: "quick", now: now).deadlineNs == now + 250_000_000)
        #expect(router.decide(model: "m", now: now).deadlineNs == now + 30_000_000_000)
    }
}
