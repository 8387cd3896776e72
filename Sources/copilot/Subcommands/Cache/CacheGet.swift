import ArgumentParser
import CopilotCore

/// `copilot cache get`: a value to stdout.
struct CacheGet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print a value (its bytes as stored, no newline added); exit 1 on a miss.",
        discussion: """
            Examples:
              copilot cache get q1 > answer.json
              copilot cache get note --session standup || echo "not cached"
            """)

    @OptionGroup var entry: CacheEntryArguments

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func run() throws {
        var hit = false
        try runCacheCommand {
            let (cache, _) = try store.open()
            defer { try? cache.sync() }
            if let value = try cache.get(entry.key, session: entry.session) {
                hit = true
                try value.withUnsafeBytes { try FileDescriptorOutput.standardOutput.write(bytes: $0) }
            }
        }
        if !hit { throw ExitCode(1) }
    }
}
