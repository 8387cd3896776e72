@testable import CopilotCore
import CopilotReference
import Foundation
import Testing
import CopilotTestSupport

/// The same seeded operation scripts, with a fake clock, against every backend and the
/// Python-parity reference: every answer must agree.
@Suite struct CacheDifferentialTests {
    /// One step of a script and what it answered, printed for comparison. With `async`, gets
    /// and sets go through the async API (the event loop, for Redis).
    static func run(script seed: UInt64, steps: Int, on cache: any ResponseCaching, clock: ManualCacheClock, async: Bool = false) async throws -> [String] {
        var rng = SplitMix64(seed: seed)
        var log: [String] = []
        let keys = (0..<12).map { "k\($0)" } + ["chat:ab", "chat:ac", "x"]
        let sessions: [String?] = [nil, nil, "s1", "s2"]
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        for step in 0..<steps {
            let key = pick(keys), session = pick(sessions)
            switch rng.next() % 12 {
            case 0, 1, 2:
                let size = pick([0, 1, 10, 1024, 1025, 5000])
                var value = [UInt8](repeating: 0, count: size)
                for i in 0..<size { value[i] = UInt8(truncatingIfNeeded: rng.next() % 7 + 65) }
                // Redis also expires keys by the wall clock (PX): the TTLs are long against
                // the time a whole script takes on a loaded machine, so only the fake clock
                // (the ticks below) ever expires an entry.
                let ttl: Int64? = pick([nil, 30_000, 150_000, 1_800_000])
                if async {
                    try await cache.setAsync(key, value: value, ttlMs: ttl, session: session)
                } else {
                    try cache.set(key, value: value, ttlMs: ttl, session: session)
                }
                log.append("\(step) set \(key)")
            case 3, 4, 5:
                let value = async ? try await cache.getAsync(key, session: session) : try cache.get(key, session: session)
                log.append("\(step) get \(key) \(session ?? "-") = \(value.map { "\($0.count):\($0.reduce(0) { $0 &* 31 &+ Int($1) })" } ?? "miss")")
            case 6:
                log.append("\(step) exists \(key) = \(try cache.exists(key, session: session))")
            case 7:
                log.append("\(step) ttl \(key) = \(try cache.ttl(key, session: session))")
            case 8:
                log.append("\(step) del \(key) = \(try cache.delete([key, "k11"], session: session))")
            case 9:
                log.append("\(step) keys = \(try cache.keys(prefix: pick(["", "k1", "chat:"]), session: session))")
            case 10:
                clock.advance(ms: Int64(rng.next() % 90_000))
                log.append("\(step) tick")
            default:
                if rng.next() % 4 == 0 {
                    log.append("\(step) flush s1 = \(try cache.flush(session: "s1"))")
                } else {
                    let keys = [key, pick(keys)]
                    let values = async ? try await cache.getManyAsync(keys, session: session) : try cache.getMany(keys, session: session)
                    let many = values.map { $0?.count ?? -1 }
                    log.append("\(step) mget = \(many)")
                }
            }
        }
        let records = try cache.records().map { "\($0.session ?? "-")/\($0.key)=\($0.value.count),\($0.ttlMs.map(String.init) ?? "none")" }
        log.append("records \(records)")
        return log
    }

    static let start = SystemCacheClock().nowMs()

    /// Backend names compared; the redis ones only when redis-server is installed.
    static func names(redis: Bool) -> [String] {
        ["memory", "sqlite", "sqlite-lz4", "tiered"] + (redis ? ["redis", "tiered-redis", "redis-async", "tiered-redis-async"] : [])
    }

    /// A fresh, empty cache of the named kind on `clock`.
    static func make(_ name: String, dir: TemporaryDirectory, redis: RedisTestServer?, clock: ManualCacheClock) throws -> any ResponseCaching {
        var settings = CacheSettings()
        settings.path = dir.path("cache-\(name).sqlite")
        settings.namespace = "n\(UUID().uuidString.prefix(8))"
        settings.url = redis?.url ?? settings.url
        settings.fallback = false
        switch name {
        case "memory": settings.backend = .memory
        case "sqlite": settings.backend = .sqlite
        case "sqlite-lz4": settings.backend = .sqlite; settings.compression = .lz4
        case "tiered": settings.backend = .tiered
        case "redis", "redis-async": settings.backend = .redis
        default: settings.backend = .tiered; settings.tierStore = .redis
        }
        return try settings.open(clock: clock)
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func everyBackendAgreesWithTheReference(seed: UInt64) async throws {
        let dir = try TemporaryDirectory()
        let redis = RedisTestServer.available ? try RedisTestServer() : nil
        let referenceClock = ManualCacheClock(startMs: Self.start)
        let expected = try await Self.run(script: seed, steps: 400, on: ReferenceResponseCache(clock: referenceClock), clock: referenceClock)
        #expect(expected.contains { $0.contains("= miss") } && expected.contains { $0.contains("get") && !$0.contains("miss") })
        for name in Self.names(redis: redis != nil) {
            let clock = ManualCacheClock(startMs: Self.start)
            let got = try await Self.run(script: seed, steps: 400, on: Self.make(name, dir: dir, redis: redis, clock: clock), clock: clock,
                                         async: name.hasSuffix("-async"))
            for (i, (a, b)) in zip(expected, got).enumerated() where a != b {
                Issue.record("\(name), seed \(seed), line \(i): reference \(a) / \(name) \(b)")
                break
            }
            #expect(got.count == expected.count)
        }
    }

    @Test func redisIsCoveredOrShownSkipped() throws {
        try #require(RedisTestServer.available, "redis-server is not installed (apt-get install redis-server); the Redis backends were not compared")
    }
}
