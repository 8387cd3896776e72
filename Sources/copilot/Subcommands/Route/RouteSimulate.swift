import ArgumentParser
import CopilotCore
import CopilotReference
import Foundation

extension LearningSimulation.FeedbackModel: ExpressibleByArgument {}
extension SimulatedWorld: ExpressibleByArgument {}

/// `copilot route simulate`: the learning policies in a simulated world, as regret tables.
struct RouteSimulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Compare the learning policies in a simulated world (regret tables).",
        discussion: """
            5 task types x 4 models with known quality, latency and cost; the provider that is \
            best for three tasks loses 0.3 of quality halfway. Each event, every task asks the \
            router and scores the pick (thumbs up with probability = quality, or a graded \
            score); Thompson sampling is compared with the prototype's static weights and \
            epsilon-greedy (0.1). Nothing is called; the same seeds give the same tables.

            Examples:
              copilot route simulate
              copilot route simulate --world close-call --feedback graded --seeds 50 --json
            """)

    @Option(help: ArgumentHelp("Runs per policy (seeds 1...n).", valueName: "n"))
    var seeds = 20

    @Option(help: ArgumentHelp("Feedback events per task; the drop comes after half.", valueName: "n"))
    var events = 1200

    @Option(help: ArgumentHelp("How clients score: \(LearningSimulation.FeedbackModel.allValueStrings.joined(separator: ", ")).", valueName: "kind"))
    var feedback = LearningSimulation.FeedbackModel.thumbs

    @Option(help: ArgumentHelp("standard (best leads by 0.17-0.21) or close-call (by 0.085-0.105).", valueName: "world"))
    var world = SimulatedWorld.standard

    @Option(help: ArgumentHelp("Forgetting factor (default: [route] forgetting's default).", valueName: "gamma"))
    var forgetting: Double?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1, got \(seeds)") }
        guard events >= 40 else { throw ValidationError("--events must be at least 40, got \(events)") }
        if let forgetting, !(0.5...1).contains(forgetting) { throw ValidationError("--forgetting must be in 0.5...1, got \(forgetting)") }
    }

    func run() throws {
        var learning = LearningSettings.defaults
        if let forgetting { learning.forgetting = forgetting }
        let sim = LearningSimulation(
            environment: world.environment, eventsPerTask: events, warmup: min(300, events / 4), learning: learning, feedback: feedback)
        let policies: [(String, (UInt64) -> SimulationRun)] = [
            ("thompson", { sim.run(ThompsonSelector(settings: sim.settings(seed: $0)), seed: $0) }),
            ("epsilon-greedy 0.1", { sim.run(EpsilonGreedySelector(settings: sim.settings(seed: $0)), seed: $0) }),
            ("static weights", { sim.run(StaticWeightSelector(), seed: $0) }),
        ]
        let summaries = policies.map { name, run in
            PolicySummary(policy: name, runs: (1...UInt64(seeds)).map(run), tasks: sim.environment.tasks.count)
        }
        try writeReport(summaries, json: json) {
            "\(world.rawValue) world, \(feedback.rawValue) feedback, \(events) events per task, \(seeds) seeds, forgetting \(learning.forgetting)\n\n"
                + PolicySummary.markdown(summaries, simulation: sim)
        }
    }
}
