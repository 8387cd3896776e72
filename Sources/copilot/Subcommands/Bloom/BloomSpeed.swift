import ArgumentParser
import CopilotCore

/// `copilot bloom speed` (hidden): the in-process throughput figure the rbloom comparison
/// script reads.
struct BloomSpeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract: "Measure adds and lookups per second on item-<i> keys (for benchmarks/bloom_vs_rbloom.py).",
        discussion: """
            Examples:
              copilot bloom speed --keys 1000000 --fp-rate 0.01 --repeats 5
            """,
        shouldDisplay: false)

    @Option(help: "Keys per run.")
    var keys = 1_000_000

    @Option(name: .customLong("fp-rate"), help: "Target false-positive rate.")
    var falsePositiveRate = 0.01

    @Option(help: "Runs per figure; the best is kept.")
    var repeats = 5

    func validate() throws {
        guard keys >= 1, keys <= 100_000_000 else { throw ValidationError("--keys must be in 1...100000000") }
        guard repeats >= 1, repeats <= 1000 else { throw ValidationError("--repeats must be in 1...1000") }
    }

    func run() throws {
        let result = try BloomThroughput.measure(keys: keys, fpRate: falsePositiveRate, repeats: repeats)
        try withStandardOutput { out in try out.write(result.json) }
    }
}
