import Foundation
import Synchronization

/// The `tiered` backend: a ``MemoryCache`` in front of the sqlite or redis store. Reads are
/// served from memory when they can; misses read through and fill the memory tier with the
/// back store's expiry; writes go to the back store first, then to memory.
///
/// Over Redis, several processes keep their memory tiers coherent: every overwrite, delete and
/// flush is published on the channel `NS:invalidate`, and each process's subscriber drops the
/// named keys from its memory tier (a subscriber that loses its connection drops its whole
/// memory tier when it reconnects, since it may have missed messages). Over SQLite the memory
/// tier is private to the process: use it only where one process writes.
public final class TieredCache: ResponseCaching {
    public let backendName = "tiered"
    let front: MemoryCache
    let back: StoredCache
    private let invalidation: RedisInvalidation?

    /// `front` before `back`; with `invalidation`, changes are published and received.
    package init(front: MemoryCache, back: StoredCache, invalidation: RedisInvalidation?) {
        self.front = front
        self.back = back
        self.invalidation = invalidation
        invalidation?.start(onMessage: { [weak front] message in
            guard let front else { return }
            switch message {
            case .key(let session, let key): front.invalidate(key, session: session)
            case .session(let session): front.invalidateAll(session: session)
            case .all: front.invalidateAll(session: nil)
            }
        })
    }

    deinit { invalidation?.stop() }

    /// True when there is no invalidation channel or its subscriber listens.
    var invalidationReady: Bool { invalidation?.isSubscribed ?? true }

    public func get(_ key: String, session: String?) throws -> [UInt8]? {
        try getMany([key], session: session)[0]
    }

    public func getMany(_ keys: [String], session: String?) throws -> [[UInt8]?] {
        var (out, missing) = try fromFront(keys, session: session)
        guard !missing.isEmpty else { return out }
        fill(&out, missing, keys, session, try back.getDecoded(missing.map { keys[$0] }, session: session))
        return out
    }

    public var preferredExecutor: (any TaskExecutor)? { back.preferredExecutor }

    public func getManyAsync(_ keys: [String], session: String?) async throws -> [[UInt8]?] {
        var (out, missing) = try fromFront(keys, session: session)
        guard !missing.isEmpty else { return out }
        fill(&out, missing, keys, session, try await back.getDecodedAsync(missing.map { keys[$0] }, session: session))
        return out
    }

    /// What the memory tier holds, and the indices it misses.
    private func fromFront(_ keys: [String], session: String?) throws -> ([[UInt8]?], [Int]) {
        let out = try front.getMany(keys, session: session)
        let missing = out.indices.filter { out[$0] == nil }
        back.countFrontHits(keys.count - missing.count)
        return (out, missing)
    }

    /// Puts what the back store found into `out` and the memory tier, with its expiry.
    private func fill(_ out: inout [[UInt8]?], _ missing: [Int], _ keys: [String], _ session: String?, _ fetched: [CacheValueCodec.Decoded?]) {
        for (i, d) in zip(missing, fetched) {
            guard let d else { continue }
            out[i] = d.value
            front.set(keys[i], value: d.value, expiresAtMs: d.expiresAtMs, session: session)
        }
    }

    public func set(_ key: String, value: [UInt8], ttlMs: Int64?, session: String?) throws {
        try setMany([CacheWrite(key: key, value: value, ttlMs: ttlMs, session: session)])
    }

    public func setMany(_ writes: [CacheWrite]) throws {
        try back.setMany(writes)
        try afterWrite(writes)
    }

    public func setManyAsync(_ writes: [CacheWrite]) async throws {
        try await back.setManyAsync(writes)
        try front.setMany(writes)
        await invalidation?.publishAsync(writes.map { .key(session: $0.session, key: $0.key) })
    }

    /// The memory tier takes the writes, and other processes hear of them.
    private func afterWrite(_ writes: [CacheWrite]) throws {
        try front.setMany(writes)
        invalidation?.publish(writes.map { .key(session: $0.session, key: $0.key) })
    }

    public func delete(_ keys: [String], session: String?) throws -> Int {
        let n = try back.delete(keys, session: session)
        for k in keys { front.invalidate(k, session: session) }
        invalidation?.publish(keys.map { .key(session: session, key: $0) })
        return n
    }

    public func exists(_ key: String, session: String?) throws -> Bool {
        if try front.exists(key, session: session) { return true }
        return try back.exists(key, session: session)
    }

    public func ttl(_ key: String, session: String?) throws -> CacheTTL { try back.ttl(key, session: session) }

    public func keys(prefix: String, session: String?) throws -> [String] { try back.keys(prefix: prefix, session: session) }

    public func flush(session: String) throws -> Int {
        let n = try back.flush(session: session)
        front.invalidateAll(session: session)
        invalidation?.publish([.session(session)])
        return n
    }

    public func flushAll() throws -> Int {
        let n = try back.flushAll()
        front.invalidateAll(session: nil)
        invalidation?.publish([.all])
        return n
    }

    public func records() throws -> [CacheRecord] { try back.records() }

    public func stats() throws -> CacheStats {
        var s = try back.stats()
        let memory = try front.stats()
        s.backend = "tiered"
        s.note = [s.note, "memory tier: \(memory.entries ?? 0) entries, \(memory.counters.hits) hits in this process"].compactMap { $0 }.joined(separator: "; ")
        return s
    }

    public func sync() throws { try back.sync() }
}

/// Invalidation messages between the memory tiers of processes that share one Redis.
package final class RedisInvalidation: @unchecked Sendable {
    // @unchecked: `thread` and `handler` are set once in `start` before the thread runs;
    // `stopping` is atomic.

    /// What changed.
    package enum Message: Equatable, Sendable {
        /// One key was overwritten or deleted.
        case key(session: String?, key: String)
        /// A session was flushed.
        case session(String)
        /// Everything was flushed.
        case all
    }

    private let store: RedisCacheStore
    private let channel: String
    private let origin = UInt64.random(in: 1...UInt64.max)
    private let stopping = Atomic(false)
    private let subscribed = Atomic(false)
    private var thread: Thread?
    private var handler: (@Sendable (Message) -> Void)?

    /// Messages on `NS:invalidate` of the store's server.
    package init(store: RedisCacheStore, namespace: String) {
        self.store = store
        channel = "\(namespace):invalidate"
    }

    /// True once the subscriber listens (tests wait for it before publishing).
    package var isSubscribed: Bool { subscribed.load(ordering: .acquiring) }

    /// Starts the subscriber thread; `onMessage` runs on it for other processes' messages
    /// (and with `.all` after a reconnection).
    package func start(onMessage: @escaping @Sendable (Message) -> Void) {
        handler = onMessage
        let t = Thread { [self] in listen() }
        t.name = "copilot-cache-invalidation"
        thread = t
        t.start()
    }

    /// Stops the subscriber within about 200 ms.
    package func stop() { stopping.store(true, ordering: .releasing) }

    /// Publishes `messages` (best effort: a Redis that is away has no other subscribers to tell).
    package func publish(_ messages: [Message]) {
        for m in messages { try? store.publish(channel: channel, message: encode(m)) }
    }

    /// ``publish(_:)`` through the store's event loop, in one pipeline.
    package func publishAsync(_ messages: [Message]) async {
        var commands = RedisCommands()
        for m in messages { commands.append([Array("PUBLISH".utf8), Array(channel.utf8), encode(m)]) }
        _ = try? await store.executeAsync(commands)
    }

    private func encode(_ m: Message) -> [UInt8] {
        var text = "\(origin)\n"
        switch m {
        case .key(let session, let key): text += "k\n\(session ?? "")\n\(key)"
        case .session(let s): text += "s\n\(s)\n"
        case .all: text += "a\n\n"
        }
        return Array(text.utf8)
    }

    private func decode(_ payload: [UInt8]) -> Message? {
        let parts = String(decoding: payload, as: UTF8.self).split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, let from = UInt64(parts[0]), from != origin else { return nil }
        switch parts[1] {
        case "k" where parts.count == 4: return .key(session: parts[2].isEmpty ? nil : parts[2], key: parts[3])
        case "s": return .session(parts[2])
        case "a": return .all
        default: return nil
        }
    }

    private func listen() {
        var backoffMs = 100
        var first = true
        while !stopping.load(ordering: .acquiring) {
            do {
                let conn = try RedisConnection(url: store.url, timeoutMs: 1000)
                _ = try conn.command(["SUBSCRIBE", channel])
                conn.setTimeout(ms: 200)
                subscribed.store(true, ordering: .releasing)
                if !first { handler?(.all) }
                first = false
                backoffMs = 100
                while !stopping.load(ordering: .acquiring) {
                    do {
                        let reply = try conn.readReply()
                        if case .array(let parts) = reply, parts.count == 3, parts[0].text == "message", let payload = parts[2].bytes,
                           let message = decode(payload) {
                            handler?(message)
                        }
                    } catch {
                        if conn.clearTimeout() { continue }
                        throw error
                    }
                }
            } catch {
                subscribed.store(false, ordering: .releasing)
                usleep(UInt32(backoffMs) * 1000)
                backoffMs = min(backoffMs * 2, 5000)
            }
        }
    }
}
