import CopilotCore
import Foundation

/// The Python prototype's response cache, the way it was written: a dictionary under one lock
/// whose values are `zlib.compress(json.dumps({"value": base64, "expires_at": seconds,
/// "session": name}))`, expiry checked on read, keys listed by a scan. The test oracle of every
/// backend, and the baseline of the cache bench cases.
public final class ReferenceResponseCache: ResponseCaching, @unchecked Sendable {
    // @unchecked: `store` and `counters` are only touched under `lock`.
    public let backendName = "reference"
    private let lock = NSLock()
    private var store: [String: Data] = [:]
    private var counters = CacheCounters()
    private let clock: any CacheClock

    /// An empty cache reading time from `clock`.
    public init(clock: any CacheClock = SystemCacheClock()) {
        self.clock = clock
    }

    private func composite(_ key: String, _ session: String?) -> String { "\(session ?? "")\u{0}\(key)" }

    private func split(_ composite: String) -> (session: String?, key: String) {
        let parts = composite.split(separator: "\u{0}", maxSplits: 1, omittingEmptySubsequences: false)
        return (parts[0].isEmpty ? nil : String(parts[0]), String(parts[1]))
    }

    /// json.loads(zlib.decompress(raw)), or nil when expired (then deleted, as the prototype did).
    private func load(_ composite: String, now: Double) -> [String: Any]? {
        guard let raw = store[composite],
              let inflated = try? Zlib.decompress([UInt8](raw)),
              let object = try? JSONSerialization.jsonObject(with: Data(inflated)) as? [String: Any] else { return nil }
        if let expires = object["expires_at"] as? Double, expires <= now {
            store[composite] = nil
            counters.expirations += 1
            return nil
        }
        return object
    }

    private var now: Double { Double(clock.nowMs()) / 1000 }

    public func get(_ key: String, session: String?) throws -> [UInt8]? {
        try CacheLimits.check(key: key)
        lock.lock()
        defer { lock.unlock() }
        guard let object = load(composite(key, session), now: now), let b64 = object["value"] as? String, let value = Data(base64Encoded: b64) else {
            counters.misses += 1
            return nil
        }
        counters.hits += 1
        return [UInt8](value)
    }

    public func set(_ key: String, value: [UInt8], ttlMs: Int64?, session: String?) throws {
        try CacheLimits.check(key: key)
        var object: [String: Any] = ["value": Data(value).base64EncodedString()]
        object["expires_at"] = ttlMs.map { now + Double($0) / 1000 } ?? NSNull()
        object["session"] = session ?? NSNull()
        let json = try JSONSerialization.data(withJSONObject: object)
        let packed = Data(try Zlib.compress([UInt8](json)))
        lock.lock()
        defer { lock.unlock() }
        store[composite(key, session)] = packed
        counters.sets += 1
        counters.bytesWritten += value.count
    }

    public func delete(_ keys: [String], session: String?) throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        var n = 0
        for key in keys where load(composite(key, session), now: now) != nil {
            store[composite(key, session)] = nil
            n += 1
        }
        counters.deletes += n
        return n
    }

    public func exists(_ key: String, session: String?) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return load(composite(key, session), now: now) != nil
    }

    public func ttl(_ key: String, session: String?) throws -> CacheTTL {
        lock.lock()
        defer { lock.unlock() }
        let t = now
        guard let object = load(composite(key, session), now: t) else { return .missing }
        guard let expires = object["expires_at"] as? Double else { return .persistent }
        return .remaining(ms: Int64((expires * 1000).rounded()) - Int64((t * 1000).rounded()))
    }

    public func keys(prefix: String, session: String?) throws -> [String] {
        lock.lock()
        defer { lock.unlock() }
        let t = now
        return store.keys.compactMap { c -> String? in
            let (s, k) = split(c)
            return s == session && k.hasPrefix(prefix) && load(c, now: t) != nil ? k : nil
        }.sorted()
    }

    public func getMany(_ keys: [String], session: String?) throws -> [[UInt8]?] {
        try keys.map { try get($0, session: session) }
    }

    public func setMany(_ writes: [CacheWrite]) throws {
        for w in writes { try set(w.key, value: w.value, ttlMs: w.ttlMs, session: w.session) }
    }

    public func flush(session: String) throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        let t = now
        let doomed = store.keys.filter { split($0).session == session }
        let live = doomed.filter { load($0, now: t) != nil }.count
        for c in doomed { store[c] = nil }
        counters.deletes += live
        return live
    }

    public func flushAll() throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        let t = now
        let n = store.keys.filter { load($0, now: t) != nil }.count
        store.removeAll()
        counters.deletes += n
        return n
    }

    public func records() throws -> [CacheRecord] {
        lock.lock()
        defer { lock.unlock() }
        let t = now
        return store.keys.compactMap { c -> CacheRecord? in
            guard let object = load(c, now: t), let b64 = object["value"] as? String, let value = Data(base64Encoded: b64) else { return nil }
            let (s, k) = split(c)
            let ttl = (object["expires_at"] as? Double).map { Int64(($0 * 1000).rounded()) - Int64((t * 1000).rounded()) }
            return CacheRecord(key: k, session: s, value: [UInt8](value), ttlMs: ttl)
        }.sorted { ($0.session ?? "", $0.key) < ($1.session ?? "", $1.key) }
    }

    public func stats() throws -> CacheStats {
        lock.lock()
        defer { lock.unlock() }
        return CacheStats(backend: backendName, location: "process memory", counters: counters, entries: store.count,
                          bytesStored: store.values.reduce(0) { $0 + $1.count })
    }

    public func sync() throws {}
}
