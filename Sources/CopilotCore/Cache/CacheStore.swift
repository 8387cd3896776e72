/// A value as a persistent store keeps it: the encoded bytes (``CacheValueCodec`` header and
/// payload) and the metadata the store indexes.
package struct StoredBlob: Sendable {
    /// Header and payload.
    package var bytes: [UInt8]
    /// Length of the original value.
    package var originalBytes: Int
    /// Expiry in Unix milliseconds, nil = never.
    package var expiresAtMs: Int64?
    /// Time to live from the write, in milliseconds, nil = never (Redis's `PX`).
    package var ttlMs: Int64?
}

/// What a store reports for `stats`.
package struct StoreUsage: Sendable {
    /// Counters persisted by every process so far.
    package var counters = CacheCounters()
    /// Live entries, when cheap to count.
    package var entries: Int?
    /// Bytes held, when known.
    package var bytesStored: Int?
    /// Bytes compression saves on what is held, when known.
    package var bytesSaved: Int?
    /// Set when the store is serving from somewhere else than asked (a fallback).
    package var note: String?
}

/// A persistent store of encoded values under (session, key): the sqlite and redis backends,
/// and the fallback pair of both. ``StoredCache`` puts validation, the value codec, expiry
/// checks and counters in front of it, so a store only moves bytes.
package protocol CacheStore: AnyObject, Sendable {
    /// `sqlite` or `redis`.
    var name: String { get }
    /// The path, or the URL with its password masked.
    var location: String { get }
    /// The stored bytes of each key (nil when absent), in one round trip where possible.
    func read(_ keys: [MemoryKey]) throws -> [[UInt8]?]
    /// The stored bytes of one key (the hot path of a single get).
    func readOne(_ key: MemoryKey) throws -> [UInt8]?
    /// `body` applied to one key's stored bytes where they lie (no copy where the store can),
    /// or nil when the key is absent.
    func withStoredValue<T>(_ key: MemoryKey, _ body: (UnsafeRawBufferPointer) -> T) throws -> T?
    /// Writes every entry, in one transaction or pipeline.
    func write(_ entries: [(MemoryKey, StoredBlob)]) throws
    /// Removes the keys; returns how many were there.
    func remove(_ keys: [MemoryKey]) throws -> Int
    /// Keys starting with `prefix` in `session` (nil: outside any) and their expiry.
    func list(prefix: String, session: String?) throws -> [(key: String, expiresAtMs: Int64?)]
    /// Removes every key of `session`; returns how many were live at `nowMs`.
    func removeSession(_ session: String, nowMs: Int64) throws -> Int
    /// Removes every key; returns how many were live at `nowMs`.
    func removeAll(nowMs: Int64) throws -> Int
    /// Every entry's stored bytes (export).
    func scan() throws -> [(MemoryKey, [UInt8])]
    /// Deletes at most `limit` entries expired at `nowMs`; returns how many.
    func purgeExpired(nowMs: Int64, limit: Int) throws -> Int
    /// Adds `delta` to the persisted counters.
    func persist(_ delta: CacheCounters) throws
    /// Persisted counters and what is held.
    func usage(nowMs: Int64) throws -> StoreUsage
    /// `read` for async callers: a server-backed store suspends the caller instead of blocking
    /// its thread (the default reads inline).
    func readAsync(_ keys: [MemoryKey]) async throws -> [[UInt8]?]
    /// `write` for async callers, as ``readAsync(_:)``.
    func writeAsync(_ entries: [(MemoryKey, StoredBlob)]) async throws
    /// The event loop async calls complete on, when the store has one.
    var preferredExecutor: (any TaskExecutor)? { get }
}

extension CacheStore {
    package func readAsync(_ keys: [MemoryKey]) async throws -> [[UInt8]?] { try read(keys) }
    package func writeAsync(_ entries: [(MemoryKey, StoredBlob)]) async throws { try write(entries) }
    package var preferredExecutor: (any TaskExecutor)? { nil }
    package func readOne(_ key: MemoryKey) throws -> [UInt8]? { try read([key])[0] }
    package func withStoredValue<T>(_ key: MemoryKey, _ body: (UnsafeRawBufferPointer) -> T) throws -> T? {
        try readOne(key).map { bytes in bytes.withUnsafeBytes(body) }
    }
}
