import Foundation

/// Which store `copilot cache` and the gateway use.
public enum CacheBackend: String, CaseIterable, Sendable {
    /// An in-process LRU (gone at exit).
    case memory
    /// One SQLite file, the embedded default.
    case sqlite
    /// A Redis server, with the SQLite file as the fallback.
    case redis
    /// Memory in front of sqlite or redis (`[cache] tier_store`).
    case tiered
}

/// The store behind the memory tier of `tiered`.
public enum CacheTierStore: String, CaseIterable, Sendable {
    /// The SQLite file.
    case sqlite
    /// Redis (memory tiers kept coherent over pub/sub).
    case redis
}

/// The `[cache]` section, with flags applied on top.
public struct CacheSettings: Sendable, Equatable {
    /// The store.
    public var backend: CacheBackend = .sqlite
    /// The SQLite file; empty = `$XDG_CACHE_HOME/copilot/cache.sqlite` or `~/.cache/copilot/cache.sqlite`.
    public var path = ""
    /// The Redis URL (`redis://[user:password@]host:port/db` or `unix:///path`).
    public var url = "redis://127.0.0.1:6379/0"
    /// Prefix of every key, so several applications can share one store.
    public var namespace = "copilot"
    /// TTL of keys set without `--ttl` outside a session, in seconds; 0 = never expire.
    public var defaultTTLSeconds: Int64 = 0
    /// TTL of keys set without `--ttl` in a session, in seconds; 0 = never expire.
    public var sessionTTLSeconds: Int64 = 86_400
    /// Codec for values over the threshold.
    public var compression: CacheCompression = .zstd
    /// Values of more bytes than this are compressed.
    public var compressThresholdBytes = 1024
    /// Largest value accepted, in bytes (Redis's own limit is 512 MiB).
    public var maxValueBytes = 512 << 20
    /// Memory tier bound in bytes.
    public var memoryMaxBytes = 256 << 20
    /// Memory tier bound in entries.
    public var memoryMaxEntries = 1_000_000
    /// What `tiered` puts behind memory.
    public var tierStore: CacheTierStore = .sqlite
    /// Serve from the SQLite file while Redis is unreachable.
    public var fallback = true
    /// Idle Redis connections kept per process.
    public var redisPoolSize = 8
    /// Redis connect and command timeout, in milliseconds.
    public var redisTimeoutMs = 1000

    /// Whether the entries live in Redis (`backend = "redis"`, or `tiered` over Redis).
    public var usesRedis: Bool { backend == .redis || (backend == .tiered && tierStore == .redis) }
    /// How long SQLite waits for another process's lock, in milliseconds.
    public var busyTimeoutMs = 5000

    /// The built-in defaults.
    public init() {}

    /// Keys of `[cache]`.
    public static let keys = [
        "backend", "path", "url", "namespace", "default_ttl", "session_ttl", "compression", "compress_threshold",
        "max_value_bytes", "memory_max_bytes", "memory_max_entries", "tier_store", "fallback", "redis_pool_size",
        "redis_timeout_ms", "busy_timeout_ms",
    ]

    /// Reads `[cache]` (absent keys keep their defaults).
    public init(configuration: Configuration) throws {
        let s = try configuration.section("cache")
        try s.checkKeys(known: Self.keys)
        let d = CacheSettings()
        backend = try s.choice("backend", default: d.backend)
        path = try s.string("path", default: d.path)
        url = try s.string("url", default: d.url)
        namespace = try s.string("namespace", default: d.namespace)
        defaultTTLSeconds = Int64(try s.int("default_ttl", default: Int(d.defaultTTLSeconds), in: 0...Int(CacheLimits.maxTTLSeconds)))
        sessionTTLSeconds = Int64(try s.int("session_ttl", default: Int(d.sessionTTLSeconds), in: 0...Int(CacheLimits.maxTTLSeconds)))
        compression = try s.choice("compression", default: d.compression)
        compressThresholdBytes = try s.int("compress_threshold", default: d.compressThresholdBytes, in: 0...(1 << 30))
        maxValueBytes = try s.int("max_value_bytes", default: d.maxValueBytes, in: 1...(512 << 20))
        memoryMaxBytes = try s.int("memory_max_bytes", default: d.memoryMaxBytes, in: 1024...(1 << 40))
        memoryMaxEntries = try s.int("memory_max_entries", default: d.memoryMaxEntries, in: 1...1_000_000_000)
        tierStore = try s.choice("tier_store", default: d.tierStore)
        fallback = try s.bool("fallback", default: d.fallback)
        redisPoolSize = try s.int("redis_pool_size", default: d.redisPoolSize, in: 1...1024)
        redisTimeoutMs = try s.int("redis_timeout_ms", default: d.redisTimeoutMs, in: 1...600_000)
        busyTimeoutMs = try s.int("busy_timeout_ms", default: d.busyTimeoutMs, in: 0...600_000)
        guard !namespace.isEmpty, !namespace.contains(where: { $0 == ":" || $0 == "{" || $0 == "}" || $0.isWhitespace }) else {
            throw ConfigurationError.invalidValue(path: configuration.path ?? "defaults", key: "cache.namespace", expected: "a non-empty name without ':', braces or spaces")
        }
    }

    /// The SQLite file: `path`, or the default under the user's cache directory.
    public func resolvedPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        Self.userCacheFile(path, default: "cache.sqlite", environment: environment)
    }

    /// `path` with `~` expanded, or, when empty, `name` in `$XDG_CACHE_HOME/copilot` (or
    /// `~/.cache/copilot`).
    static func userCacheFile(_ path: String, default name: String, environment: [String: String]) -> String {
        if !path.isEmpty { return (path as NSString).expandingTildeInPath }
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.cache")
        return base + "/copilot/" + name
    }

    /// The TTL for a write: the one given, else the session's or the default (nil = never).
    public func effectiveTTLMs(_ ttlMs: Int64?, session: String?) -> Int64? {
        if let ttlMs { return ttlMs }
        let seconds = session == nil ? defaultTTLSeconds : sessionTTLSeconds
        return seconds == 0 ? nil : seconds * 1000
    }

    /// Opens the configured cache. With Redis and `fallback`, an unreachable server is not an
    /// error (the embedded store serves); without it, the server is checked now.
    public func open(clock: any CacheClock = SystemCacheClock(), environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any ResponseCaching {
        let codec = CacheValueCodec(thresholdBytes: compressThresholdBytes, compression: compression)
        let sqlitePath = resolvedPath(environment: environment)
        let namespace = self.namespace
        let busy = Int32(busyTimeoutMs)
        let openSQLite: @Sendable () throws -> SQLiteCacheStore = { try SQLiteCacheStore(path: sqlitePath, namespace: namespace, busyTimeoutMs: busy) }
        func redisStore() throws -> (any CacheStore, RedisCacheStore) {
            let redis = RedisCacheStore(url: try RedisURL(url, environment: environment), namespace: namespace, poolSize: redisPoolSize, timeoutMs: redisTimeoutMs)
            if !fallback {
                try redis.checkConnection()
                return (redis, redis)
            }
            do {
                try redis.checkConnection()
            } catch CacheError.redisUnreachable {
                // The fallback store says so on the first operation.
            }
            return (FallbackCacheStore(primary: redis, secondary: openSQLite), redis)
        }
        switch backend {
        case .memory:
            return MemoryCache(maxBytes: memoryMaxBytes, maxEntries: memoryMaxEntries, clock: clock)
        case .sqlite:
            return StoredCache(store: try openSQLite(), codec: codec, maxValueBytes: maxValueBytes, clock: clock)
        case .redis:
            return StoredCache(store: try redisStore().0, codec: codec, maxValueBytes: maxValueBytes, clock: clock)
        case .tiered:
            let front = MemoryCache(maxBytes: memoryMaxBytes, maxEntries: memoryMaxEntries, clock: clock)
            switch tierStore {
            case .sqlite:
                return TieredCache(front: front, back: StoredCache(store: try openSQLite(), codec: codec, maxValueBytes: maxValueBytes, clock: clock), invalidation: nil)
            case .redis:
                let (store, redis) = try redisStore()
                return TieredCache(front: front, back: StoredCache(store: store, codec: codec, maxValueBytes: maxValueBytes, clock: clock),
                                   invalidation: RedisInvalidation(store: redis, namespace: namespace))
            }
        }
    }
}
