import CopilotCore
import CopilotReference

/// `route/pick among 10 providers`: one routing decision (filter, score, weighted draw, order
/// the fallbacks) by the core router, against the prototype's static-weight linear scan, over
/// 10 providers serving the model among 20 configured; 1000 decisions per operation.
/// `route/thompson pick among 10 providers`: the same with learning on (a Beta draw per
/// candidate from posteriors fed by 2000 feedback events, plus the penalties).
/// `route/tune suggest, 200 observations, 1 thread`: one suggestion of the Gaussian-process
/// tuner after a new observation (hyperparameters fitted at the one before: a Cholesky of
/// the 200 x 200 kernel, expected improvement over the candidates), against random search's;
/// `route/tune fit, 200 observations, 1 thread`: the marginal-likelihood search the tuner
/// runs every 16 new observations, against one factorisation. OpenBLAS runs on one thread
/// (matrices this small lose more to its thread pool than they gain).
enum RouteBenchSuite {
    static let decisionsPerOp = 1000

    /// 20 providers, the even ones serving `llama3.2` (10 candidates), weights 1-3.
    static func providers() -> [ProviderSettings] {
        (0..<20).map { i in
            var p = ProviderSettings(
                name: "p\(i)", baseURL: "http://127.0.0.1:\(9000 + i)/v1", models: i % 2 == 0 ? ["llama3.2", "qwen2.5"] : ["other-\(i)"])
            p.weight = Double(1 + i % 3)
            p.costInputPer1k = Double(i % 4) * 0.1
            return p
        }
    }

    /// The prototype's 1000 picks, the baseline of both pick cases.
    static func staticPicks(_ reference: ReferenceRouter) -> @Sendable () -> Void {
        {
            var r = reference
            var sum = 0
            for _ in 0..<decisionsPerOp { sum &+= r.pick(model: "llama3.2") ?? 0 }
            benchBlackHole(sum)
        }
    }

    /// A tuner with `observations` uniform points scored by the synthetic objective, its
    /// hyperparameters fitted before the last one.
    static func tuner(observations: Int, seed: UInt64) throws -> ParameterTuner {
        var tuner = ParameterTuner()
        var g = SplitMix64(seed: seed)
        var random = RandomSearchTuner()
        let objective = TuningSimulation()
        for i in 0..<observations {
            if i == observations - 1 { _ = try tuner.model() }
            let p = try random.next(using: &g)
            try tuner.observe(p, score: objective.score(p, using: &g))
        }
        return tuner
    }

    /// Some history, so scores differ and the latency factor is computed.
    static func warmUp<S: ModelSelecting>(_ router: inout ProviderRouter<S>, seed: UInt64, task: String?) {
        var g = SplitMix64(seed: seed)
        for _ in 0..<200 {
            let i = Int(g.next() % 20)
            _ = router.acquire(i, now: 1)
            router.release(
                i, outcome: RouteOutcome(provider: i, task: task, success: g.nextUnit() > 0.1, latencyMs: 50 + 500 * g.nextUnit(), ttftMs: 20),
                now: 1)
        }
    }

    static let suite = BenchSuite(name: "route") { context in
        [
            BenchCase(name: "route/pick among 10 providers", unit: "picks", unitsPerOp: Double(decisionsPerOp)) {
                let providers = Self.providers()
                var settings = RouteSettings.defaults
                settings.providers = providers
                settings.seed = context.seed
                var router = ProviderRouter(settings: settings, selector: HealthWeightedSelector())
                Self.warmUp(&router, seed: context.seed, task: nil)
                let reference = ReferenceRouter(providers: providers, seed: context.seed)
                let optimized = router
                return BenchOperations(
                    reference: Self.staticPicks(reference),
                    optimized: {
                        var r = optimized
                        var sum = 0
                        for i in 0..<decisionsPerOp { sum &+= r.decide(model: "llama3.2", now: UInt64(i)).pick ?? 0 }
                        benchBlackHole(sum)
                    })
            },
            BenchCase(name: "route/thompson pick among 10 providers", unit: "picks", unitsPerOp: Double(decisionsPerOp)) {
                let providers = Self.providers()
                var settings = RouteSettings.defaults
                settings.providers = providers
                settings.tasks = [TaskSettings(name: "code", latencyBudgetMs: 300)]
                settings.seed = context.seed
                var router = ProviderRouter(settings: settings, selector: ThompsonSelector(settings: settings))
                Self.warmUp(&router, seed: context.seed, task: "code")
                var g = SplitMix64(seed: context.seed ^ 1)
                for _ in 0..<2000 {
                    let p = 2 * Int(g.next() % 10)
                    router.learn(RouteFeedback(provider: p, task: "code", score: g.nextUnit() < 0.5 + Double(p) / 40 ? 1 : 0))
                }
                let reference = ReferenceRouter(providers: providers, seed: context.seed)
                let optimized = router
                return BenchOperations(
                    reference: Self.staticPicks(reference),
                    optimized: {
                        var r = optimized
                        var sum = 0
                        for i in 0..<decisionsPerOp { sum &+= r.decide(model: "llama3.2", task: "code", now: UInt64(i)).pick ?? 0 }
                        benchBlackHole(sum)
                    })
            },
            BenchCase(name: "route/tune suggest, 200 observations, 1 thread", unit: "suggestions", unitsPerOp: 1, baselineLabel: "random search") {
                BLAS.setThreadCount(1)
                let tuner = try Self.tuner(observations: 200, seed: context.seed)
                return BenchOperations(
                    reference: {
                        var g = SplitMix64(seed: 1)
                        var random = RandomSearchTuner()
                        benchBlackHole(try? random.next(using: &g))
                    },
                    optimized: {
                        var t = tuner
                        var g = SplitMix64(seed: 1)
                        benchBlackHole(try? t.suggest(using: &g))
                    })
            },
            BenchCase(name: "route/tune fit, 200 observations, 1 thread", unit: "fits", unitsPerOp: 1, baselineLabel: "one factorisation") {
                BLAS.setThreadCount(1)
                let tuner = try Self.tuner(observations: 200, seed: context.seed)
                let inputs = tuner.observations.flatMap { tuner.space.unit($0.parameters) }
                let outputs = tuner.observations.map(\.score)
                let start = tuner.hyperparameters
                return BenchOperations(
                    reference: {
                        benchBlackHole(try? GaussianProcess(inputs: inputs, outputs: outputs, dimensions: ParameterSpace.dimensions, hyperparameters: start))
                    },
                    optimized: {
                        benchBlackHole(try? GaussianProcess.fitted(inputs: inputs, outputs: outputs, dimensions: ParameterSpace.dimensions, start: start))
                    })
            },
        ]
    }
}
