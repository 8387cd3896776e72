import Foundation
import Synchronization

/// Wall-clock time in Unix milliseconds, the time base of every TTL (so expiries persisted by
/// one process mean the same in another). Tests pass a ``ManualCacheClock``.
public protocol CacheClock: Sendable {
    /// Now, in milliseconds since 1970.
    func nowMs() -> Int64
}

/// The system's real-time clock, read coarsely (a few milliseconds of resolution, a few
/// nanoseconds per read: TTLs need no more, and every get reads it).
public struct SystemCacheClock: CacheClock {
    /// Creates the clock.
    public init() {}

    public func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// A clock that moves only when told to (tests, operation scripts).
public final class ManualCacheClock: CacheClock {
    private let now: Atomic<Int64>

    /// Starts at `startMs`.
    public init(startMs: Int64) { now = Atomic(startMs) }

    public func nowMs() -> Int64 { now.load(ordering: .relaxed) }

    /// Moves the clock forward by `ms`.
    public func advance(ms: Int64) { now.add(ms, ordering: .relaxed) }
}

/// What `ttl KEY` answers.
public enum CacheTTL: Equatable, Sendable {
    /// No such key (or it has expired).
    case missing
    /// The key never expires.
    case persistent
    /// Milliseconds left.
    case remaining(ms: Int64)
}

/// One entry to write with ``ResponseCaching/setMany(_:)``.
public struct CacheWrite: Sendable, Equatable {
    /// The key (within the session, when one is given).
    public var key: String
    /// The value, any bytes.
    public var value: [UInt8]
    /// Time to live in milliseconds; nil = never expires.
    public var ttlMs: Int64?
    /// The session the key belongs to, or nil.
    public var session: String?

    /// Creates the write.
    public init(key: String, value: [UInt8], ttlMs: Int64? = nil, session: String? = nil) {
        self.key = key
        self.value = value
        self.ttlMs = ttlMs
        self.session = session
    }
}

/// One live entry, as `export` writes it.
public struct CacheRecord: Sendable, Equatable {
    /// The key.
    public var key: String
    /// The session, or nil.
    public var session: String?
    /// The value.
    public var value: [UInt8]
    /// Milliseconds left, nil = never expires.
    public var ttlMs: Int64?

    /// Creates the record.
    public init(key: String, session: String?, value: [UInt8], ttlMs: Int64?) {
        self.key = key
        self.session = session
        self.value = value
        self.ttlMs = ttlMs
    }
}

/// Counters a cache keeps (persisted by the sqlite and redis stores, so `copilot cache stats`
/// sees every process's work).
public struct CacheCounters: Sendable, Equatable {
    /// Reads that found a live value.
    public var hits = 0
    /// Reads that found nothing (absent, expired or damaged).
    public var misses = 0
    /// Values written.
    public var sets = 0
    /// Keys deleted by `del` or a flush.
    public var deletes = 0
    /// Entries pushed out by the memory store's byte or entry bound.
    public var evictions = 0
    /// Entries found expired (lazily on read, or by the purge).
    public var expirations = 0
    /// Values whose header or checksum did not match (read as misses).
    public var corrupt = 0
    /// Bytes of values written, before compression.
    public var bytesWritten = 0
    /// Bytes compression saved on the values written.
    public var bytesSavedWritten = 0

    /// Creates zeroed counters.
    public init() {}

    /// Field names in a fixed order, as stored and printed.
    public static let names = ["hits", "misses", "sets", "deletes", "evictions", "expirations", "corrupt", "bytes_written", "bytes_saved_written"]

    /// The values in `names` order.
    public var values: [Int] { [hits, misses, sets, deletes, evictions, expirations, corrupt, bytesWritten, bytesSavedWritten] }

    /// Adds `value` to the counter called `name` (unknown names are ignored).
    public mutating func add(_ name: String, _ value: Int) {
        switch name {
        case "hits": hits += value
        case "misses": misses += value
        case "sets": sets += value
        case "deletes": deletes += value
        case "evictions": evictions += value
        case "expirations": expirations += value
        case "corrupt": corrupt += value
        case "bytes_written": bytesWritten += value
        case "bytes_saved_written": bytesSavedWritten += value
        default: break
        }
    }

    /// Field-wise sum.
    public static func + (a: CacheCounters, b: CacheCounters) -> CacheCounters {
        var sum = a
        for (name, value) in zip(names, b.values) { sum.add(name, value) }
        return sum
    }

    /// True when every counter is zero.
    public var isZero: Bool { values.allSatisfy { $0 == 0 } }
}

/// `copilot cache stats`: counters and what the store holds now.
public struct CacheStats: Sendable, Equatable {
    /// Backend name (`memory`, `sqlite`, `redis`, `tiered`...).
    public var backend: String
    /// Where the data lives (a path, or a URL with its password masked).
    public var location: String
    /// Counters (every process's, for persistent stores).
    public var counters: CacheCounters
    /// Live entries, when the store can count them cheaply.
    public var entries: Int?
    /// Bytes the stored values take (headers and compression included), when known.
    public var bytesStored: Int?
    /// Bytes compression saves on the values held now, when known.
    public var bytesSaved: Int?
    /// Which store served (for example `sqlite (fallback: redis unreachable)`), when it differs.
    public var note: String?

    /// Creates the report.
    public init(backend: String, location: String, counters: CacheCounters, entries: Int? = nil, bytesStored: Int? = nil, bytesSaved: Int? = nil, note: String? = nil) {
        self.backend = backend
        self.location = location
        self.counters = counters
        self.entries = entries
        self.bytesStored = bytesStored
        self.bytesSaved = bytesSaved
        self.note = note
    }

    /// Hits over reads, 0 when nothing was read.
    public var hitRate: Double {
        let reads = counters.hits + counters.misses
        return reads == 0 ? 0 : Double(counters.hits) / Double(reads)
    }

    /// One JSON object, keys in a fixed order.
    public var json: String {
        var parts = ["\"backend\":\(JSONText.quote(backend))", "\"location\":\(JSONText.quote(location))"]
        for (name, value) in zip(CacheCounters.names, counters.values) { parts.append("\"\(name)\":\(value)") }
        parts.append("\"hit_rate\":\((hitRate * 10000).rounded() / 10000)")
        parts.append("\"entries\":\(entries.map(String.init) ?? "null")")
        parts.append("\"bytes_stored\":\(bytesStored.map(String.init) ?? "null")")
        parts.append("\"bytes_saved\":\(bytesSaved.map(String.init) ?? "null")")
        if let note { parts.append("\"note\":\(JSONText.quote(note))") }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// Aligned `name: value` lines.
    public var text: String {
        var rows: [(String, String)] = [("backend", backend), ("location", location)]
        if let note { rows.append(("note", note)) }
        rows.append(("entries", entries.map(String.init) ?? "unknown"))
        rows.append(("bytes stored", bytesStored.map(String.init) ?? "unknown"))
        rows.append(("bytes saved", bytesSaved.map(String.init) ?? "unknown"))
        for (name, value) in zip(CacheCounters.names, counters.values) { rows.append((name.replacingOccurrences(of: "_", with: " "), String(value))) }
        rows.append(("hit rate", String(format: "%.1f%%", hitRate * 100)))
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n") + "\n"
    }
}

/// An LLM response cache: byte values under string keys, with TTLs, sessions (named key
/// groups that one `flush` drops), bulk operations and counters.
///
/// A key lives either in no session or in one; `get("k", session: "s")` and `get("k")` are
/// different entries. A TTL of nil never expires. Implementations are thread-safe.
public protocol ResponseCaching: AnyObject, Sendable {
    /// `memory`, `sqlite`, `redis` or `tiered`.
    var backendName: String { get }
    /// The live value, or nil.
    func get(_ key: String, session: String?) throws -> [UInt8]?
    /// Stores `value`, replacing any value under the key.
    func set(_ key: String, value: [UInt8], ttlMs: Int64?, session: String?) throws
    /// Removes the keys; returns how many existed.
    func delete(_ keys: [String], session: String?) throws -> Int
    /// True when the key holds a live value.
    func exists(_ key: String, session: String?) throws -> Bool
    /// Time left for the key.
    func ttl(_ key: String, session: String?) throws -> CacheTTL
    /// Live keys that start with `prefix`, sorted, in one session or outside any.
    func keys(prefix: String, session: String?) throws -> [String]
    /// The values of `keys`, in order (nil for misses), in one round trip where the store can.
    func getMany(_ keys: [String], session: String?) throws -> [[UInt8]?]
    /// Writes every entry, in one transaction or pipeline where the store can.
    func setMany(_ writes: [CacheWrite]) throws
    /// Drops every key of the session; returns how many.
    func flush(session: String) throws -> Int
    /// Drops every key; returns how many.
    func flushAll() throws -> Int
    /// Every live entry (for `export`), sorted by session then key.
    func records() throws -> [CacheRecord]
    /// Counters and usage.
    func stats() throws -> CacheStats
    /// Persists pending counters (called at exit; stores also do it now and then).
    func sync() throws

    /// `getMany` for async callers: a store that talks to a server (redis) suspends the caller
    /// instead of blocking its thread; local stores answer inline.
    func getManyAsync(_ keys: [String], session: String?) async throws -> [[UInt8]?]
    /// `setMany` for async callers, as ``getManyAsync(_:session:)``.
    func setManyAsync(_ writes: [CacheWrite]) async throws
    /// Where tasks that mostly talk to this cache run best: the Redis store's event loop (a
    /// reply then resumes its caller on the thread that read it); nil for local stores.
    var preferredExecutor: (any TaskExecutor)? { get }
}

extension ResponseCaching {
    // Local stores answer in microseconds: inline is cheaper than any hand-off.
    public func getManyAsync(_ keys: [String], session: String?) async throws -> [[UInt8]?] {
        try getMany(keys, session: session)
    }

    public func setManyAsync(_ writes: [CacheWrite]) async throws { try setMany(writes) }

    public var preferredExecutor: (any TaskExecutor)? { nil }

    /// `get` for async callers (see ``getManyAsync(_:session:)``).
    public func getAsync(_ key: String, session: String? = nil) async throws -> [UInt8]? {
        try await getManyAsync([key], session: session)[0]
    }

    /// `set` for async callers (see ``getManyAsync(_:session:)``).
    public func setAsync(_ key: String, value: [UInt8], ttlMs: Int64? = nil, session: String? = nil) async throws {
        try await setManyAsync([CacheWrite(key: key, value: value, ttlMs: ttlMs, session: session)])
    }

    /// `get` outside any session.
    public func get(_ key: String) throws -> [UInt8]? { try get(key, session: nil) }
    /// `set` outside any session with no expiry.
    public func set(_ key: String, value: [UInt8]) throws { try set(key, value: value, ttlMs: nil, session: nil) }
}

/// Counters kept under a mutex and handed out for persisting.
final class CounterBox: Sendable {
    private let state = Mutex(CacheCounters())

    /// Applies `change` to the counters.
    func update(_ change: (inout CacheCounters) -> Void) {
        state.withLock { change(&$0) }
    }

    /// Returns the counters and zeroes them (for adding to a persisted total).
    func take() -> CacheCounters {
        state.withLock { c in
            let out = c
            c = CacheCounters()
            return out
        }
    }

    /// Adds back counters a failed persist could not write.
    func restore(_ counters: CacheCounters) {
        state.withLock { $0 = $0 + counters }
    }
}

/// Prints a warning once per process and key (a damaged value, a fallback).
final class WarnOnce: Sendable {
    private let seen = Mutex(Set<String>())

    /// Writes `message` to stderr the first time `topic` is seen.
    func warn(_ topic: String, _ message: String) {
        let first = seen.withLock { $0.insert(topic).inserted }
        if first { writeStandardError("copilot cache: \(message)\n") }
    }

    /// Lets `topic` warn again (for example after the store it was about came back).
    func reset(_ topic: String) {
        _ = seen.withLock { $0.remove(topic) }
    }
}
