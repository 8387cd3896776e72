import ArgumentParser
import CopilotCore
import Foundation

/// `copilot bench`: optimized vs reference speed table for every component.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time every component, optimized against the reference, on generated input.",
        discussion: """
            Each case runs the optimized and the reference implementation on the same input: \
            one warm-up, then alternating timed runs; the table shows medians.

            Examples:
              copilot bench --quick
              copilot bench --filter ring --json > ring.json
            """)

    @Option(help: "Run only cases whose name contains this text.")
    var filter: String?

    @Flag(help: "Small inputs and few runs: everything in under 10 seconds.")
    var quick = false

    @Flag(help: "Print a JSON array instead of the Markdown table.")
    var json = false

    @Flag(help: "List case names without running them.")
    var list = false

    @Option(help: "Seed for generated input.")
    var seed: UInt64 = 42

    func run() throws {
        let context = BenchContext(quick: quick, seed: seed)
        let runner = BenchRunner(quick: quick)
        let progress = ProgressLine(enabled: !list && !json)
        var results: [BenchResult] = []
        var names: [String] = []
        for benchCase in BenchSuites.all.flatMap({ $0.makeCases(context) }) {
            if let filter, benchCase.name.range(of: filter, options: .caseInsensitive) == nil { continue }
            if list {
                names.append(benchCase.name)
                continue
            }
            progress.update("bench: \(benchCase.name)")
            results.append(try runner.run(benchCase))
        }
        progress.clear()
        try withStandardOutput { out in
            if list {
                try out.write(names.map { $0 + "\n" }.joined())
            } else if results.isEmpty {
                throw ValidationError("no bench case matches --filter \(filter ?? ""); run `copilot bench --list` to see the names")
            } else {
                try out.write(json ? BenchReport.json(results) : BenchReport.markdown(results))
            }
        }
    }
}
