import ArgumentParser
import CopilotCore
import Foundation

/// `copilot cache set`: stores a value from the argument or stdin.
struct CacheSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Store a value: the argument, or stdin (any bytes) when there is none.",
        discussion: """
            Without --ttl a key never expires ([cache] default_ttl), or lives for the session's \
            TTL ([cache] session_ttl, a day) when it is in a session.

            Examples:
              copilot cache set q1 '{"answer": 42}' --ttl 3600
              curl -s ... | copilot cache set chat:1f3a... --session interview-7
            """)

    @Argument(help: "The key.")
    var key: String

    @Argument(help: "The value; absent: read stdin to its end.")
    var value: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Seconds to live (1 to 315360000).", valueName: "seconds"))
    var ttl: String?

    @Option(help: ArgumentHelp("Put the key in this session.", valueName: "name"))
    var session: String?

    @OptionGroup(title: "Store")
    var store: CacheOptions

    func run() throws {
        try runCacheCommand {
            let ttlMs = try ttl.map { try CacheLimits.ttlMilliseconds(seconds: $0) }
            try CacheLimits.check(key: key)
            try CacheLimits.check(session: session)
            let settings = try store.settings()
            let bytes = try value.map { Array($0.utf8) } ?? readStandardInput(limit: settings.maxValueBytes)
            let cache = try settings.open()
            defer { try? cache.sync() }
            try cache.set(key, value: bytes, ttlMs: settings.effectiveTTLMs(ttlMs, session: session), session: session)
        }
    }
}

/// All of stdin, refusing more than `limit` bytes (read one past it to tell).
func readStandardInput(limit: Int) throws -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw CacheError.storeUnavailable(path: "stdin", reason: String(cString: strerror(errno)))
        }
        if n == 0 { return out }
        out.append(contentsOf: chunk[0..<n])
        if out.count > limit { throw CacheError.valueTooLarge(bytes: out.count, limitBytes: limit) }
    }
}
