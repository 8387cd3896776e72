import ArgumentParser
import CopilotCore

/// `copilot cache flush`: drop a session or everything.
struct CacheFlush: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flush",
        abstract: "Drop every key of a session (--session) or of the namespace (--all); prints how many.",
        discussion: """
            Examples:
              copilot cache flush --session interview-7
              copilot cache flush --all
            """)

    @Option(help: ArgumentHelp("Drop this session's keys.", valueName: "name"))
    var session: String?

    @Flag(help: "Drop every key of the namespace.")
    var all = false

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func validate() throws {
        if (session == nil) == !all { throw ValidationError("give exactly one of --session NAME and --all") }
    }

    func run() throws {
        try runCacheCommand {
            let (cache, _) = try store.open()
            defer { try? cache.sync() }
            let n = try session.map { try cache.flush(session: $0) } ?? cache.flushAll()
            try FileDescriptorOutput.standardOutput.write("\(n)\n")
        }
    }
}
