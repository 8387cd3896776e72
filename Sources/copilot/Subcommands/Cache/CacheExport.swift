import ArgumentParser
import CopilotCore

/// `copilot cache export`: every live entry as JSON Lines.
struct CacheExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every live entry as JSON Lines: key, base64 value, ttl_ms left (null: never), session.",
        discussion: """
            Examples:
              copilot cache export > backup.jsonl
              copilot cache export --url redis://127.0.0.1:6379/0 | copilot cache import --path local.sqlite
            """)

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func run() throws {
        try runCacheCommand {
            let (cache, _) = try store.open()
            let out = FileDescriptorOutput.standardOutput
            for record in try cache.records() { try out.write(CacheTransfer.line(record) + "\n") }
        }
    }
}

/// `copilot cache import`: JSON Lines in, all or nothing.
struct CacheImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read JSON Lines written by export (stdin or a file) and store every entry.",
        discussion: """
            Every line is checked before anything is written: a malformed line stops the import \
            with its line number and nothing imported.

            Examples:
              copilot cache import < backup.jsonl
              copilot cache import backup.jsonl --backend redis
            """)

    @Argument(help: "JSON Lines file; absent or `-`: stdin.")
    var input: String?

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func run() throws {
        try runCacheCommand {
            let settings = try store.settings()
            let source = input == nil || input == "-" ? "stdin" : input!
            let bytes: [UInt8]
            if source == "stdin" {
                bytes = try readStandardInput(limit: Int.max / 2)
            } else {
                bytes = try CacheTransfer.readFile(source)
            }
            let writes = try CacheTransfer.parse(bytes, source: source)
            let cache = try settings.open()
            defer { try? cache.sync() }
            try cache.setMany(writes)
            writeStandardError("imported \(writes.count) entries\n")
        }
    }
}
