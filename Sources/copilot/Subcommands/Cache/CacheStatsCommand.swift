import ArgumentParser
import CopilotCore

/// `copilot cache stats`: counters and usage.
struct CacheStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print hits, misses, sets, evictions, expirations, corrupt values and bytes stored and saved.",
        discussion: """
            Counters add up every process's work on the store (sqlite and redis keep them).

            Examples:
              copilot cache stats
              copilot cache stats --json --url redis://127.0.0.1:6379/0
            """)

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func run() throws {
        try runCacheCommand {
            let (cache, _) = try store.open()
            let stats = try cache.stats()
            try FileDescriptorOutput.standardOutput.write(json ? stats.json + "\n" : stats.text)
        }
    }
}
