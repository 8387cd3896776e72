import Foundation
import Synchronization

/// A ``ResponseCaching`` over a persistent ``CacheStore`` (sqlite, redis, or redis with the
/// embedded fallback): checks keys, sessions, TTLs and value sizes, encodes values with the
/// ``CacheValueCodec`` (compression, header, checksum), checks expiry on every read with its
/// clock, counts hits, misses and damage, and persists the counters about once a second.
///
/// A value whose header or checksum does not match reads as a miss, is counted as corrupt,
/// warned about once on stderr and removed.
public final class StoredCache: ResponseCaching {
    public var backendName: String { store.name }
    let store: any CacheStore
    private let codec: CacheValueCodec
    private let clock: any CacheClock
    private let maxValueBytes: Int
    private let counters = CounterBox()
    private let warnings = WarnOnce()
    private let lastPersistMs: Atomic<Int64>
    private let writesSincePurge = Atomic<Int>(0)

    /// Wraps `store`.
    package init(store: any CacheStore, codec: CacheValueCodec, maxValueBytes: Int, clock: any CacheClock) {
        self.store = store
        self.codec = codec
        self.clock = clock
        self.maxValueBytes = maxValueBytes
        lastPersistMs = Atomic(clock.nowMs())
    }

    deinit { try? sync() }

    /// Reads a key: the decoded value, or nil after counting why not.
    private func decodeLive(_ key: MemoryKey, stored: consuming [UInt8]?, now: Int64, countMiss: Bool = true) -> CacheValueCodec.Decoded? {
        guard let stored = consume stored else {
            if countMiss { counters.update { $0.misses += 1 } }
            return nil
        }
        return checkLive(key, decoded: codec.decode(taking: stored), now: now, countMiss: countMiss)
    }

    /// A decoded value if it is sound and live; counts, warns and removes otherwise.
    private func checkLive(_ key: MemoryKey, decoded: CacheValueCodec.Decoded?, now: Int64, countMiss: Bool) -> CacheValueCodec.Decoded? {
        guard let decoded else {
            counters.update { $0.corrupt += 1; if countMiss { $0.misses += 1 } }
            warnings.warn("corrupt", "a damaged value under \(JSONText.quote(String(key.key.prefix(80)))) in \(store.location) read as a miss and was removed (further damage is counted in `copilot cache stats`)")
            _ = try? store.remove([key])
            return nil
        }
        if let e = decoded.expiresAtMs, e <= now {
            counters.update { $0.expirations += 1; if countMiss { $0.misses += 1 } }
            _ = try? store.remove([key])
            return nil
        }
        return decoded
    }

    private func checkRead(_ key: String, _ session: String?) throws {
        try CacheLimits.check(key: key)
        try CacheLimits.check(session: session)
    }

    public func get(_ key: String, session: String?) throws -> [UInt8]? {
        try checkRead(key, session)
        let id = MemoryKey(session: session, key: key)
        let codec = self.codec
        let now = clock.nowMs()
        let value: [UInt8]?
        if let decoded = try store.withStoredValue(id, { codec.decode(raw: $0) }) {
            value = checkLive(id, decoded: decoded, now: now, countMiss: true)?.value
        } else {
            counters.update { $0.misses += 1 }
            value = nil
        }
        if value != nil { counters.update { $0.hits += 1 } }
        persistIfDue(now: now)
        return value
    }

    public func getMany(_ keys: [String], session: String?) throws -> [[UInt8]?] {
        try getDecoded(keys, session: session).map { $0?.value }
    }

    /// Values with the expiry their headers carry (the tiered cache copies it).
    func getDecoded(_ keys: [String], session: String?) throws -> [CacheValueCodec.Decoded?] {
        let ids = try readIDs(keys, session: session)
        return finishRead(ids, stored: try store.read(ids))
    }

    /// ``getDecoded(_:session:)`` for async callers.
    func getDecodedAsync(_ keys: [String], session: String?) async throws -> [CacheValueCodec.Decoded?] {
        let ids = try readIDs(keys, session: session)
        return finishRead(ids, stored: try await store.readAsync(ids))
    }

    public var preferredExecutor: (any TaskExecutor)? { store.preferredExecutor }

    public func getManyAsync(_ keys: [String], session: String?) async throws -> [[UInt8]?] {
        try await getDecodedAsync(keys, session: session).map { $0?.value }
    }

    private func readIDs(_ keys: [String], session: String?) throws -> [MemoryKey] {
        for k in keys { try checkRead(k, session) }
        return keys.map { MemoryKey(session: session, key: $0) }
    }

    /// Decodes what the store returned, counting hits, misses, expiries and damage.
    private func finishRead(_ ids: [MemoryKey], stored: consuming [[UInt8]?]) -> [CacheValueCodec.Decoded?] {
        let now = clock.nowMs()
        var stored = stored
        var hits = 0
        var values: [CacheValueCodec.Decoded?] = []
        values.reserveCapacity(ids.count)
        for (i, id) in zip(stored.indices, ids) {
            // Moved out of the array, so an uncompressed value is cut from its stored bytes
            // in place instead of copied.
            let bytes = stored[i]
            stored[i] = nil
            let v = decodeLive(id, stored: bytes, now: now)
            if v != nil { hits += 1 }
            values.append(v)
        }
        counters.update { $0.hits += hits }
        persistIfDue(now: now)
        return values
    }

    /// Counts hits served by a tier in front of this cache (so `stats` sees them).
    func countFrontHits(_ n: Int) {
        counters.update { $0.hits += n }
    }

    public func set(_ key: String, value: [UInt8], ttlMs: Int64?, session: String?) throws {
        try setMany([CacheWrite(key: key, value: value, ttlMs: ttlMs, session: session)])
    }

    public func setMany(_ writes: [CacheWrite]) throws {
        let now = clock.nowMs()
        let entries = try encode(writes, now: now)
        try store.write(entries)
        finishWrite(writes, entries, now: now)
    }

    public func setManyAsync(_ writes: [CacheWrite]) async throws {
        let now = clock.nowMs()
        let entries = try encode(writes, now: now)
        try await store.writeAsync(entries)
        finishWrite(writes, entries, now: now)
    }

    /// Checks and encodes the writes (compression, header, checksum, expiry).
    private func encode(_ writes: [CacheWrite], now: Int64) throws -> [(MemoryKey, StoredBlob)] {
        var entries: [(MemoryKey, StoredBlob)] = []
        entries.reserveCapacity(writes.count)
        for w in writes {
            try checkRead(w.key, w.session)
            if let ttl = w.ttlMs, ttl < 1 || ttl > CacheLimits.maxTTLSeconds * 1000 {
                throw CacheError.invalidTTL(seconds: String(Double(ttl) / 1000))
            }
            guard w.value.count <= maxValueBytes else { throw CacheError.valueTooLarge(bytes: w.value.count, limitBytes: maxValueBytes) }
            let expires = w.ttlMs.map { now + $0 }
            let bytes = try codec.encode(w.value, expiresAtMs: expires)
            entries.append((MemoryKey(session: w.session, key: w.key), StoredBlob(bytes: bytes, originalBytes: w.value.count, expiresAtMs: expires, ttlMs: w.ttlMs)))
        }
        return entries
    }

    /// Counts written entries and runs the bounded purge now and then.
    private func finishWrite(_ writes: [CacheWrite], _ entries: [(MemoryKey, StoredBlob)], now: Int64) {
        var written = 0, saved = 0
        for (w, (_, blob)) in zip(writes, entries) {
            written += w.value.count
            saved += max(0, w.value.count + CacheValueCodec.headerBytes - blob.bytes.count)
        }
        counters.update {
            $0.sets += writes.count
            $0.bytesWritten += written
            $0.bytesSavedWritten += saved
        }
        if writesSincePurge.add(writes.count, ordering: .relaxed).newValue >= 1000 {
            writesSincePurge.store(0, ordering: .relaxed)
            if let purged = try? store.purgeExpired(nowMs: now, limit: 500), purged > 0 {
                counters.update { $0.expirations += purged }
            }
        }
        persistIfDue(now: now)
    }

    public func delete(_ keys: [String], session: String?) throws -> Int {
        for k in keys { try checkRead(k, session) }
        let ids = keys.map { MemoryKey(session: session, key: $0) }
        // Count only live entries, as Redis's DEL would for keys that had not yet expired.
        let now = clock.nowMs()
        let live = try store.read(ids).enumerated().filter { decodeLive(ids[$0.offset], stored: $0.element, now: now, countMiss: false) != nil }.count
        _ = try store.remove(ids)
        counters.update { $0.deletes += live }
        return live
    }

    public func exists(_ key: String, session: String?) throws -> Bool {
        try checkRead(key, session)
        let id = MemoryKey(session: session, key: key)
        return decodeLive(id, stored: try store.read([id])[0], now: clock.nowMs(), countMiss: false) != nil
    }

    public func ttl(_ key: String, session: String?) throws -> CacheTTL {
        try checkRead(key, session)
        let id = MemoryKey(session: session, key: key)
        let now = clock.nowMs()
        guard let decoded = decodeLive(id, stored: try store.read([id])[0], now: now, countMiss: false) else { return .missing }
        return decoded.expiresAtMs.map { .remaining(ms: $0 - now) } ?? .persistent
    }

    public func keys(prefix: String, session: String?) throws -> [String] {
        try CacheLimits.check(session: session)
        let now = clock.nowMs()
        return try store.list(prefix: prefix, session: session).filter { ($0.expiresAtMs ?? Int64.max) > now }.map(\.key).sorted()
    }

    public func flush(session: String) throws -> Int {
        try CacheLimits.check(session: session)
        let n = try store.removeSession(session, nowMs: clock.nowMs())
        counters.update { $0.deletes += n }
        return n
    }

    public func flushAll() throws -> Int {
        let n = try store.removeAll(nowMs: clock.nowMs())
        counters.update { $0.deletes += n }
        return n
    }

    public func records() throws -> [CacheRecord] {
        let now = clock.nowMs()
        return try store.scan().compactMap { id, bytes -> CacheRecord? in
            guard let d = decodeLive(id, stored: bytes, now: now, countMiss: false) else { return nil }
            return CacheRecord(key: id.key, session: id.session, value: d.value, ttlMs: d.expiresAtMs.map { $0 - now })
        }.sorted { ($0.session ?? "", $0.key) < ($1.session ?? "", $1.key) }
    }

    public func stats() throws -> CacheStats {
        try sync()
        let usage = try store.usage(nowMs: clock.nowMs())
        return CacheStats(backend: store.name, location: store.location, counters: usage.counters, entries: usage.entries,
                          bytesStored: usage.bytesStored, bytesSaved: usage.bytesSaved, note: usage.note)
    }

    public func sync() throws {
        let delta = counters.take()
        do {
            try store.persist(delta)
        } catch {
            counters.restore(delta)
            throw error
        }
    }

    private func persistIfDue(now: Int64) {
        let last = lastPersistMs.load(ordering: .relaxed)
        guard now - last >= 1000, lastPersistMs.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        try? sync()
    }
}
