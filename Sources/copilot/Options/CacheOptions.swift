import ArgumentParser
import CopilotCore

extension CacheBackend: ExpressibleByArgument {}
extension CacheCompression: ExpressibleByArgument {}

/// Where the cache lives: `--backend`, `--path`, `--url`, `--namespace`, `--no-fallback`,
/// over the `[cache]` section of the configuration.
struct CacheOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Store: memory, sqlite (default), redis, or tiered (memory in front of [cache] tier_store).", valueName: "backend"))
    var backend: CacheBackend?

    @Option(help: ArgumentHelp("SQLite file (default: ~/.cache/copilot/cache.sqlite), also Redis's fallback.", valueName: "path"))
    var path: String?

    @Option(help: ArgumentHelp("Redis URL: redis://[user:password@]host:port/db or unix:///path (password also from $COPILOT_REDIS_PASSWORD).", valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("Key prefix shared by every key (default: copilot).", valueName: "name"))
    var namespace: String?

    @Flag(help: "Fail when Redis is unreachable instead of serving from the SQLite file.")
    var noFallback = false

    @OptionGroup(title: "Configuration")
    var config: ConfigOptions

    /// `[cache]` with the flags applied.
    func settings() throws -> CacheSettings {
        var s = try CacheSettings(configuration: try config.load())
        if let backend { s.backend = backend }
        if let path { s.path = path }
        if let url {
            s.url = url
            // A URL alone means Redis, as redis-cli -u does.
            if backend == nil && s.backend == .sqlite { s.backend = .redis }
        }
        if let namespace { s.namespace = namespace }
        if noFallback { s.fallback = false }
        return s
    }

    /// The opened cache.
    func open() throws -> (any ResponseCaching, CacheSettings) {
        let s = try settings()
        return (try s.open(), s)
    }
}

/// `KEY [--session NAME]`: the entry a command reads.
struct CacheEntryArguments: ParsableArguments {
    @Argument(help: "The key.")
    var key: String

    @Option(help: ArgumentHelp("The session the key belongs to.", valueName: "name"))
    var session: String?
}

/// Runs a cache command: errors become one line on stderr and exit status 2 (1 stays "a miss",
/// as with grep and `bloom check`); counters are persisted before exit.
func runCacheCommand(_ body: () throws -> Void) throws {
    do {
        try withStandardOutput { _ in try body() }
    } catch {
        throw cacheExit(error)
    }
}

/// ``runCacheCommand(_:)`` for commands that await.
func runCacheCommandAsync(_ body: () async throws -> Void) async throws {
    let out = FileDescriptorOutput.standardOutput
    do {
        try await body()
        try out.flush()
    } catch OutputError.closed {
        throw ExitCode.success
    } catch {
        throw cacheExit(error)
    }
}

/// An exit code passes through; any other error is printed on one line, exit 2.
private func cacheExit(_ error: any Error) -> any Error {
    if let exit = error as? ExitCode { return exit }
    writeStandardError("Error: \(error.localizedDescription)\n")
    return ExitCode(2)
}
