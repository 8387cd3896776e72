import ArgumentParser
import CopilotCore

/// `copilot cache exists`: exit status only.
struct CacheExists: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exists",
        abstract: "Exit 0 when the key holds a live value, 1 when not, 2 on an error.",
        discussion: """
            Examples:
              copilot cache exists q1 && echo cached
            """)

    @OptionGroup var entry: CacheEntryArguments

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func run() throws {
        var found = false
        try runCacheCommand {
            let (cache, _) = try store.open()
            found = try cache.exists(entry.key, session: entry.session)
        }
        if !found { throw ExitCode(1) }
    }
}
