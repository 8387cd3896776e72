import ArgumentParser
import CopilotCore

/// `copilot cache write-loop`: a crash-safety probe. Writes `loop-N` keys one by one and
/// prints each key once its write has returned, so a test can kill it at any moment and check
/// that every printed key is in the file.
struct CacheWriteLoop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write-loop",
        abstract: "Write numbered keys in a loop, printing each after its write returns (crash-safety tests).",
        shouldDisplay: false)

    @Option(help: "How many keys to write.")
    var count = 100_000

    @Option(help: "Bytes per value.")
    var valueBytes = 2048

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func run() throws {
        try runCacheCommand {
            let (cache, _) = try store.open()
            let out = FileDescriptorOutput.standardOutput
            var rng = SplitMix64(seed: 7)
            for i in 0..<count {
                var value = [UInt8](repeating: 0, count: valueBytes)
                for j in 0..<value.count { value[j] = UInt8(truncatingIfNeeded: rng.next() % 16 + 97) }
                try cache.set("loop-\(i)", value: value, ttlMs: nil, session: nil)
                try out.write("loop-\(i)\n")
                try out.flush()
            }
        }
    }
}
