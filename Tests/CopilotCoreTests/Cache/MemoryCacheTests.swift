@testable import CopilotCore
import Foundation
import Testing

@Suite struct MemoryCacheTests {
    @Test func evictsLeastRecentlyUsedByEntries() throws {
        let cache = MemoryCache(maxBytes: 1 << 30, maxEntries: 3)
        for k in ["a", "b", "c"] { try cache.set(k, value: [1]) }
        _ = try cache.get("a")  // a is now the most recent; b is the coldest
        try cache.set("d", value: [2])
        #expect(try cache.get("b") == nil)
        #expect(try cache.get("a") == [1])
        #expect(try cache.get("c") == [1])
        #expect(try cache.get("d") == [2])
        #expect(try cache.stats().counters.evictions == 1)
        #expect(try cache.stats().entries == 3)
    }

    @Test func evictsByBytesAndKeepsTheAccountExact() throws {
        let cache = MemoryCache(maxBytes: 10 * (1000 + 64 + 3), maxEntries: 1000)
        for i in 0..<30 { try cache.set("k\(i)", value: [UInt8](repeating: 7, count: 1000)) }
        let stats = try cache.stats()
        #expect(stats.entries == 10)
        #expect(stats.bytesStored! == 10 * 1067)
        #expect(try cache.keys(prefix: "k", session: nil) == (20..<30).map { "k\($0)" }.sorted())
        // Overwrites and deletes keep the byte count exact.
        try cache.set("k25", value: [1])
        _ = try cache.delete(["k26"], session: nil)
        _ = try cache.flushAll()
        #expect(try cache.stats().bytesStored == 0)
        // A single entry larger than the bound is still kept (the bound evicts others).
        try cache.set("big", value: [UInt8](repeating: 0, count: 20_000))
        #expect(try cache.get("big")?.count == 20_000)
    }

    @Test func expiresWithTheClock() throws {
        let clock = ManualCacheClock(startMs: 1_000_000)
        let cache = MemoryCache(clock: clock)
        try cache.set("t", value: [1], ttlMs: 1000, session: nil)
        try cache.set("p", value: [2], ttlMs: nil, session: nil)
        #expect(try cache.ttl("t", session: nil) == .remaining(ms: 1000))
        #expect(try cache.ttl("p", session: nil) == .persistent)
        clock.advance(ms: 999)
        #expect(try cache.get("t") == [1])
        clock.advance(ms: 1)
        #expect(try cache.get("t") == nil)
        #expect(try cache.ttl("t", session: nil) == .missing)
        #expect(try cache.stats().counters.expirations == 1)
        #expect(try cache.get("p") == [2])
    }

    @Test func sessionsAreSeparateKeySpaces() throws {
        let cache = MemoryCache()
        try cache.set("k", value: [1], ttlMs: nil, session: "s")
        try cache.set("k", value: [2], ttlMs: nil, session: nil)
        #expect(try cache.get("k", session: "s") == [1])
        #expect(try cache.get("k") == [2])
        #expect(try cache.flush(session: "s") == 1)
        #expect(try cache.get("k", session: "s") == nil)
        #expect(try cache.get("k") == [2])
    }

    /// Four threads hammer one small cache; the index, the list and the byte account must
    /// stay consistent (every read is a value some thread wrote, or a miss).
    @Test func isThreadSafe() throws {
        let cache = MemoryCache(maxBytes: 64 * 200, maxEntries: 50)
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            var rng = SplitMix64(seed: UInt64(t))
            for _ in 0..<20_000 {
                let k = "k\(rng.next() % 100)"
                if rng.next() % 2 == 0 {
                    try? cache.set(k, value: Array(k.utf8))
                } else if let v = try? cache.get(k) {
                    precondition(v == Array(k.utf8))
                }
            }
        }
        let stats = try cache.stats()
        #expect(stats.entries! <= 50)
        let live = try cache.records()
        #expect(live.count == stats.entries)
        #expect(stats.bytesStored == live.reduce(0) { $0 + $1.key.utf8.count + $1.value.count + 64 })
    }
}
