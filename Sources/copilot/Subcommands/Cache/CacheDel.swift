import ArgumentParser
import CopilotCore

/// `copilot cache del`: removes keys.
struct CacheDel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "del",
        abstract: "Remove keys; prints how many existed.",
        discussion: """
            Examples:
              copilot cache del q1 q2
            """)

    @Argument(help: "The keys.")
    var keys: [String]

    @Option(help: ArgumentHelp("The session the keys belong to.", valueName: "name"))
    var session: String?

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func validate() throws {
        if keys.isEmpty { throw ValidationError("give at least one key to delete") }
    }

    func run() throws {
        try runCacheCommand {
            let (cache, _) = try store.open()
            defer { try? cache.sync() }
            let n = try cache.delete(keys, session: session)
            try FileDescriptorOutput.standardOutput.write("\(n)\n")
        }
    }
}
