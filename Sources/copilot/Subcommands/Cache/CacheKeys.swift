import ArgumentParser
import CopilotCore

/// `copilot cache keys`: live keys by prefix.
struct CacheKeys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "List live keys that start with a prefix, sorted, one per line.",
        discussion: """
            Keys outside any session, or those of --session.

            Examples:
              copilot cache keys chat:
              copilot cache keys --session interview-7
            """)

    @Argument(help: "Prefix; absent: every key.")
    var prefix: String = ""

    @Option(help: ArgumentHelp("List this session's keys.", valueName: "name"))
    var session: String?

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func run() throws {
        try runCacheCommand {
            let (cache, _) = try store.open()
            for key in try cache.keys(prefix: prefix, session: session) {
                try FileDescriptorOutput.standardOutput.write(key + "\n")
            }
        }
    }
}
