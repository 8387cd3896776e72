import ArgumentParser
import CopilotCore

/// `copilot cache ttl`: time left.
struct CacheTTLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ttl",
        abstract: "Print the seconds a key has left (-1: it never expires); exit 1 when it is absent.",
        discussion: """
            Examples:
              copilot cache ttl q1
              copilot cache ttl q1 --ms
            """)

    @OptionGroup var entry: CacheEntryArguments

    @Flag(help: "Print milliseconds instead of seconds.")
    var ms = false

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func run() throws {
        var found = true
        try runCacheCommand {
            let (cache, _) = try store.open()
            switch try cache.ttl(entry.key, session: entry.session) {
            case .missing: found = false
            case .persistent: try FileDescriptorOutput.standardOutput.write("-1\n")
            case .remaining(let left):
                try FileDescriptorOutput.standardOutput.write("\(ms ? left : (left + 999) / 1000)\n")
            }
        }
        if !found { throw ExitCode(1) }
    }
}
