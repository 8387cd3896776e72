import Foundation
import Synchronization

/// Redis with the embedded store behind it: when Redis cannot be reached, every operation is
/// served from the SQLite file instead (said once on stderr), and Redis is tried again after a
/// backoff (100 ms doubling to 5 s) until it answers, which is said once too.
///
/// Only an unreachable server falls back; a wrong password or a refused command is an error.
/// What was written to the embedded store while Redis was away stays there (it is not copied
/// to Redis when Redis returns).
package final class FallbackCacheStore: CacheStore {
    package let name = "redis"
    package var location: String { primary.location }
    let primary: RedisCacheStore
    private let makeSecondary: @Sendable () throws -> SQLiteCacheStore
    private let secondary = Mutex<SQLiteCacheStore?>(nil)
    private let state = Mutex(State())
    private let warnings = WarnOnce()
    private let clock: any CacheClock

    private struct State {
        var downUntilMs: Int64 = 0
        var backoffMs: Int64 = 0
        var down = false
        var reason = ""
    }

    /// `primary` first; `secondary` is opened on the first failure.
    package init(primary: RedisCacheStore, secondary: @escaping @Sendable () throws -> SQLiteCacheStore, clock: any CacheClock = SystemCacheClock()) {
        self.primary = primary
        makeSecondary = secondary
        self.clock = clock
    }

    private func embedded() throws -> SQLiteCacheStore {
        try secondary.withLock { s in
            if let s { return s }
            let store = try makeSecondary()
            s = store
            return store
        }
    }

    private func run<T>(_ body: (any CacheStore) throws -> T) throws -> T {
        // The system clock, not the injected one: the backoff must not follow a test's fake clock.
        if primaryDue(now: SystemCacheClock().nowMs()) {
            do {
                let result = try body(primary)
                primaryAnswered()
                return result
            } catch CacheError.redisUnreachable(_, let reason) {
                try primaryFailed(reason: reason, now: SystemCacheClock().nowMs())
            }
        }
        return try body(try embedded())
    }

    /// ``run(_:)`` for async callers.
    private func runAsync<T>(_ body: (any CacheStore) async throws -> T) async throws -> T {
        if primaryDue(now: SystemCacheClock().nowMs()) {
            do {
                let result = try await body(primary)
                primaryAnswered()
                return result
            } catch CacheError.redisUnreachable(_, let reason) {
                try primaryFailed(reason: reason, now: SystemCacheClock().nowMs())
            }
        }
        return try await body(try embedded())
    }

    /// True unless Redis failed and its backoff has not yet passed.
    private func primaryDue(now: Int64) -> Bool {
        state.withLock { $0.downUntilMs <= now }
    }

    /// Redis answered: say so once if it had been away.
    private func primaryAnswered() {
        let recovered = state.withLock { s -> Bool in
            defer { s.down = false; s.backoffMs = 0 }
            return s.down
        }
        if recovered {
            warnings.reset("down")
            warnings.warn("up", "Redis at \(primary.location) answers again; the cache uses it again")
        }
    }

    /// Redis is unreachable: back off, open the embedded store and say so once.
    private func primaryFailed(reason: String, now: Int64) throws {
        primary.dropConnections()
        state.withLock { s in
            s.backoffMs = s.backoffMs == 0 ? 100 : min(5000, s.backoffMs * 2)
            s.downUntilMs = now + s.backoffMs
            s.down = true
            s.reason = reason
        }
        let store = try embedded()
        warnings.reset("up")
        warnings.warn("down", "Redis at \(primary.location) is unreachable (\(reason)); serving from the embedded store \(store.location) until it returns")
    }

    package func read(_ keys: [MemoryKey]) throws -> [[UInt8]?] { try run { try $0.read(keys) } }
    package func readOne(_ key: MemoryKey) throws -> [UInt8]? { try run { try $0.readOne(key) } }
    package var preferredExecutor: (any TaskExecutor)? { primary.preferredExecutor }
    package func readAsync(_ keys: [MemoryKey]) async throws -> [[UInt8]?] { try await runAsync { try await $0.readAsync(keys) } }
    package func writeAsync(_ entries: [(MemoryKey, StoredBlob)]) async throws { try await runAsync { try await $0.writeAsync(entries) } }
    package func write(_ entries: [(MemoryKey, StoredBlob)]) throws { try run { try $0.write(entries) } }
    package func remove(_ keys: [MemoryKey]) throws -> Int { try run { try $0.remove(keys) } }
    package func list(prefix: String, session: String?) throws -> [(key: String, expiresAtMs: Int64?)] {
        try run { try $0.list(prefix: prefix, session: session) }
    }
    package func removeSession(_ session: String, nowMs: Int64) throws -> Int { try run { try $0.removeSession(session, nowMs: nowMs) } }
    package func removeAll(nowMs: Int64) throws -> Int { try run { try $0.removeAll(nowMs: nowMs) } }
    package func scan() throws -> [(MemoryKey, [UInt8])] { try run { try $0.scan() } }
    package func purgeExpired(nowMs: Int64, limit: Int) throws -> Int { try run { try $0.purgeExpired(nowMs: nowMs, limit: limit) } }
    package func persist(_ delta: CacheCounters) throws { try run { try $0.persist(delta) } }
    package func usage(nowMs: Int64) throws -> StoreUsage {
        try run { store in
            var usage = try store.usage(nowMs: nowMs)
            if store !== primary {
                usage.note = "serving from the embedded store \(store.location): Redis at \(primary.location) is unreachable"
            }
            return usage
        }
    }
}
