import ArgumentParser
import CopilotCore
import CopilotReference
import Foundation

/// `copilot route tune`: the generation-parameter tuner, on saved feedback or in simulation.
struct RouteTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Suggest temperature, top_p and max_tokens from feedback scores (Bayesian optimisation).",
        discussion: """
            A Gaussian process (Matern 5/2, a length scale per parameter) models the scores \
            0...1 of one task type over temperature 0...2, top_p 0.05...1 and max_tokens \
            16...4096 (log scale); the next parameters maximise expected improvement. The \
            first \(ParameterTuner.initialPoints) suggestions are a space-filling design.

            With --task: what the gateway's tuner has learned for that [[route.tasks]] type, \
            from the state file of --config ([route] state_path): the best parameters so far \
            and the next suggestion, with the model's predicted score and expected improvement.

            With --observations: the next suggestion and the best so far for a JSON array of \
            {"parameters": {"temperature", "top_p", "max_tokens"}, "score"}. The same --seed \
            gives the same suggestion.

            With --simulate: a noisy synthetic objective with a known optimum (0.9 at \
            temperature 0.7, top_p 0.8, 600 tokens; noise 0.03); evaluations until each \
            policy's best point is within 5% of the optimum, the tuner against random search, \
            seeds 1...n. Nothing is called.

            Examples:
              copilot route tune --simulate
              copilot route tune --simulate --seeds 50 --budget 400 --json
              copilot route tune --observations feedback.json --seed 7
              copilot route tune --config route.toml --task code
            """)

    @OptionGroup(title: "Configuration")
    var config: ConfigOptions

    @Option(help: ArgumentHelp("Explain the serving gateway's tuner for this task type (from its state file).", valueName: "task"))
    var task: String?

    @Flag(help: "Compare the tuner with random search on the synthetic objective.")
    var simulate = false

    @Option(help: ArgumentHelp("JSON file of observed parameters and scores.", valueName: "file"))
    var observations: String?

    @Option(help: ArgumentHelp("Simulated runs per policy (seeds 1...n).", valueName: "n"))
    var seeds = 20

    @Option(help: ArgumentHelp("Evaluations per simulated run.", valueName: "n"))
    var budget = 300

    @Option(help: ArgumentHelp("Seed of the suggestion's candidate draw.", valueName: "n"))
    var seed: UInt64 = 1

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard [simulate, observations != nil, task != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give one of --task <task> (the gateway's learned state), --observations <file> or --simulate")
        }
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1, got \(seeds)") }
        guard budget >= 1 else { throw ValidationError("--budget must be at least 1, got \(budget)") }
    }

    func run() throws {
        // Kernel matrices of at most 256 rows: OpenBLAS's thread pool costs more than it saves.
        BLAS.setThreadCount(1)
        if let observations { return try suggest(from: observations) }
        if let task { return try explain(task) }
        let sim = TuningSimulation()
        let seedList = 1...UInt64(seeds)
        let summaries = [
            TuningSummary(policy: "gaussian process + EI", runs: try seedList.map { try sim.run(ParameterTuner(), seed: $0, budget: budget) }),
            TuningSummary(policy: "random search", runs: try seedList.map { try sim.run(RandomSearchTuner(), seed: $0, budget: budget) }),
        ]
        try writeReport(summaries, json: json) {
            "tuner: synthetic objective, noise \(sim.noise), \(seeds) seeds, \(budget) evaluations each\n\n"
                + TuningSummary.markdown(summaries, simulation: sim, budget: budget)
        }
    }

    private func suggest(from path: String) throws {
        let saved: [TuningObservation]
        do {
            saved = try JSONDecoder().decode([TuningObservation].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw RouteError.unreadableObservations(path: path, reason: String(describing: error))
        }
        try report(saved)
    }

    /// What `route serve` learned for `task`, from the configured state file (read only).
    private func explain(_ task: String) throws {
        let configuration = try config.load()
        let settings = try RouteSettings(configuration: configuration)
        guard let taskSettings = settings.task(named: task) else {
            throw RouteError.unknownTask(task, known: settings.tasks.map(\.name))
        }
        guard taskSettings.tune != .off else {
            throw RouteError.nothingLearned("task \(task) has tune = false in \(configuration.path ?? "the configuration"): its requests are never tuned")
        }
        let cache = try CacheSettings(configuration: configuration)
        if let shared = try settings.learning.sharedState(cache: cache) {
            let saved = try shared.loadObservations(tasks: [task])[task] ?? []
            guard !saved.isEmpty else {
                throw RouteError.nothingLearned("task \(task) has no scored answers in \(shared.url) yet: its requests go as clients send them")
            }
            return try report(saved)
        }
        guard let path = settings.learning.stateFile(cache: cache) else {
            throw RouteError.nothingLearned("the gateway keeps no learned state ([route] policy = \"health\" or state = \"off\"): nothing to explain")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw RouteError.nothingLearned("no learned state at \(path) yet: run copilot route serve and score answers of task \(task) (POST /v1/feedback)")
        }
        let saved = try RouteStateStore(path: path).loadObservations()[task] ?? []
        guard !saved.isEmpty else {
            throw RouteError.nothingLearned("task \(task) has no scored answers in \(path) yet: its requests go as clients send them")
        }
        try report(saved)
    }

    private func report(_ saved: [TuningObservation]) throws {
        var tuner = ParameterTuner()
        try tuner.restore(saved)
        var generator = SplitMix64(seed: seed)
        let report = TuningReport(suggestion: try tuner.suggest(using: &generator), best: try tuner.best())
        try writeReport(report, json: json) { report.plain() }
    }
}
