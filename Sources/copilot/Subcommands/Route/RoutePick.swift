import ArgumentParser
import CopilotCore
import CopilotGateway
import Foundation

/// `copilot route pick`: the router's decision for a request, without calling anything.
struct RoutePick: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pick",
        abstract: "Show which provider the router would pick for a model, and every candidate's score.",
        discussion: """
            A fresh router (no health history, every breaker closed) decides once with the \
            configured policy ([route] policy: thompson draws each candidate's quality from \
            its posterior, as learned so far by route serve on the same state file; health \
            uses the static weights); nothing is called. Providers left out are listed with the reason (model, tier, capability, \
            concurrency, breaker). The same --seed gives the same pick.

            Examples:
              copilot route pick --config route.toml --model llama3.2
              copilot route pick --config route.toml --model llama3.2 --task code --json
            """)

    @OptionGroup(title: "Configuration")
    var config: ConfigOptions

    @Option(help: ArgumentHelp("Model name or alias the client asks for.", valueName: "model"))
    var model: String

    @Option(help: ArgumentHelp("Task type from [[route.tasks]].", valueName: "task"))
    var task: String?

    @Option(help: ArgumentHelp("Seed of the weighted draw (default from config: route.seed).", valueName: "n"))
    var seed: UInt64?

    @Flag(help: "Print the decision as JSON.")
    var json = false

    func run() throws {
        let configuration = try config.load()
        var settings = try RouteSettings(configuration: configuration)
        _ = try settings.validate(path: configuration.path ?? "defaults")
        try settings.checkRequest(model: model, task: task)
        if let seed { settings.seed = seed }
        let report =
            switch settings.learning.policy {
            case .thompson: decide(ProviderRouter(settings: settings, selector: try learnedSelector(settings, configuration)))
            case .health: decide(ProviderRouter(settings: settings, selector: HealthWeightedSelector()))
            }
        try withStandardOutput { out in try out.write(json ? report.json() : report.plain()) }
    }

    /// The Thompson selector with what a gateway on this configuration has saved, if anything
    /// (as `route serve` restores it).
    private func learnedSelector(_ settings: RouteSettings, _ configuration: Configuration) throws -> ThompsonSelector {
        let cache = try CacheSettings(configuration: configuration)
        if let shared = try settings.learning.sharedState(cache: cache) {
            var selector = ThompsonSelector(settings: settings)
            _ = selector.restore(try shared.load())
            return selector
        }
        let path = settings.learning.stateFile(cache: cache).flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
        return try GatewayServer.restoring(ThompsonSelector(settings: settings), from: path.map { try RouteStateStore(path: $0) })
    }

    private func decide<S: ModelSelecting>(_ router: ProviderRouter<S>) -> RoutePickReport {
        var router = router
        let now = monotonicNanoseconds()
        let decision = router.decide(model: model, task: task, now: now)
        return RoutePickReport(decision: decision, router: router, model: model, task: task, now: now)
    }
}
