import CopilotCore
import CopilotReference

/// `route/pick among 10 providers`: one routing decision (filter, score, weighted draw, order
/// the fallbacks) by the core router, against the prototype's static-weight linear scan, over
/// 10 providers serving the model among 20 configured; 1000 decisions per operation.
enum RouteBenchSuite {
    static let decisionsPerOp = 1000

    static let suite = BenchSuite(name: "route") { context in
        [
            BenchCase(name: "route/pick among 10 providers", unit: "picks", unitsPerOp: Double(decisionsPerOp)) {
                var providers: [ProviderSettings] = []
                for i in 0..<20 {
                    var p = ProviderSettings(
                        name: "p\(i)", baseURL: "http://127.0.0.1:\(9000 + i)/v1",
                        models: i % 2 == 0 ? ["llama3.2", "qwen2.5"] : ["other-\(i)"])
                    p.weight = Double(1 + i % 3)
                    providers.append(p)
                }
                var settings = RouteSettings.defaults
                settings.providers = providers
                settings.seed = context.seed
                var router = ProviderRouter(settings: settings, selector: HealthWeightedSelector())
                // Some history, so scores differ and the latency factor is computed.
                var g = SplitMix64(seed: context.seed)
                for _ in 0..<200 {
                    let i = Int(g.next() % 20)
                    _ = router.acquire(i, now: 1)
                    router.release(
                        i, outcome: RouteOutcome(provider: i, task: nil, success: g.nextUnit() > 0.1, latencyMs: 50 + 500 * g.nextUnit(), ttftMs: 20),
                        now: 1)
                }
                let reference = ReferenceRouter(providers: providers, seed: context.seed)
                let optimized = router
                return BenchOperations(
                    reference: {
                        var r = reference
                        var sum = 0
                        for _ in 0..<decisionsPerOp { sum &+= r.pick(model: "llama3.2") ?? 0 }
                        benchBlackHole(sum)
                    },
                    optimized: {
                        var r = optimized
                        var sum = 0
                        for i in 0..<decisionsPerOp { sum &+= r.decide(model: "llama3.2", now: UInt64(i)).pick ?? 0 }
                        benchBlackHole(sum)
                    })
            }
        ]
    }
}
