import ArgumentParser
import CopilotBench
import CopilotCore
import CopilotReference
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
              copilot bench --verify            # largest optimized-vs-reference difference per component
            """)

    @Option(help: "Run only cases whose name contains this text.")
    var filter: String?

    @Flag(help: "Small inputs and few runs: everything in under 10 seconds.")
    var quick = false

    @Flag(help: "Print a JSON array instead of the Markdown table.")
    var json = false

    @Flag(help: "List case names without running them.")
    var list = false

    @Flag(help: "Run both implementations of every component on the same input and print the largest difference of each (exit 1 if one disagrees).")
    var verify = false

    @Option(help: ArgumentHelp("Threads of the optimized side with --verify (default 2).", valueName: "n"))
    var threads: Int = 2

    @Option(help: "Seed for generated input.")
    var seed: UInt64 = 42

    @Option(help: .hidden)
    var writeConsensusSets: String?

    @OptionGroup var config: ConfigOptions

    func validate() throws {
        if verify && (list || filter != nil) {
            throw ValidationError("--verify compares every component; drop --list and --filter")
        }
        if !(1...64).contains(threads) {
            throw ValidationError("--threads must be in 1...64, got \(threads)")
        }
    }

    func run() throws {
        if verify { return try runVerification() }
        let context = BenchContext(quick: quick, seed: seed)
        if let writeConsensusSets { return try writeAnswerSets(directory: writeConsensusSets, context: context) }
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

    /// `--write-consensus-sets DIR` (hidden): the `consensus/N answers` cases' inputs as
    /// DIR/answers-N.jsonl, for benchmarks/consensus_compare.sh to give the Python prototype.
    private func writeAnswerSets(directory: String, context: BenchContext) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for count in ConsensusBenchSuite.answerCounts {
            let lines = ConsensusBenchSuite.answerSet(count: count, context: context).map { answer in
                "{\"expert\":\(JSONText.quote(answer.expert)),\"text\":\(JSONText.quote(answer.text)),"
                    + "\"weight\":\(answer.weight),\"confidence\":\(answer.confidence)}\n"
            }
            try lines.joined().write(toFile: "\(directory)/answers-\(count).jsonl", atomically: true, encoding: .utf8)
        }
    }

    /// `--verify`: the comparison table; the real Whisper model when one is installed.
    private func runVerification() throws {
        let configuration = try config.load()
        let settings = try TranscribeSettings(configuration: configuration)
        let directory = try? WhisperModel.locate(explicit: nil, configured: settings.model.isEmpty ? nil : settings.model)
        let model = try directory.map { try WhisperModel(directory: $0) }
        let progress = ProgressLine(enabled: !json)
        let checks = try ImplementationVerification.run(
            quick: quick, threads: threads, model: model?.weights, seed: seed,
            progress: { progress.update("verify: \($0)") })
        progress.clear()
        try withStandardOutput { out in
            try out.write(json
                ? ImplementationVerification.json(checks, threads: threads)
                : ImplementationVerification.markdown(checks, threads: threads))
        }
        if let failed = checks.first(where: { !$0.agrees }) {
            writeStandardError("copilot bench: \(failed.component) disagrees with its reference (largest \(failed.measure) \(failed.largestDifference), tolerance \(failed.tolerance))\n")
            throw ExitCode(1)
        }
    }
}
