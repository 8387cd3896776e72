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

    /// A seeded script of sets, gets, deletes, expiries and session flushes on a small cache
    /// (so the bound evicts all the time) against an LRU list kept the plain way: the same
    /// values, the same evictions, the same keys left.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func agreesWithAPlainLRUList(seed: UInt64) throws {
        let clock = ManualCacheClock(startMs: 0)
        let cache = MemoryCache(maxBytes: 1 << 30, maxEntries: 40, clock: clock)
        struct Entry { var key: MemoryKey; var value: [UInt8]; var expires: Int64 }
        var model: [Entry] = []  // most recent first
        var rng = SplitMix64(seed: seed)
        for step in 0..<20_000 {
            let key = MemoryKey(session: rng.next() % 4 == 0 ? "s\(rng.next() % 2)" : nil, key: "key-\(rng.next() % 120)-long-enough-to-live-on-the-heap")
            let live = { (e: Entry) in e.expires > clock.nowMs() }
            switch rng.next() % 10 {
            case 0..<4:
                let value = [UInt8]("\(step)".utf8)
                let ttl: Int64? = rng.next() % 3 == 0 ? Int64(rng.next() % 50) + 1 : nil
                try cache.set(key.key, value: value, ttlMs: ttl, session: key.session)
                model.removeAll { $0.key == key }
                model.insert(Entry(key: key, value: value, expires: ttl.map { clock.nowMs() + $0 } ?? .max), at: 0)
                if model.count > 40 { model.removeLast() }
            case 4..<8:
                let got = try cache.get(key.key, session: key.session)
                if let i = model.firstIndex(where: { $0.key == key }), live(model[i]) {
                    #expect(got == model[i].value, "step \(step)")
                    model.insert(model.remove(at: i), at: 0)
                } else {
                    #expect(got == nil, "step \(step)")
                    model.removeAll { $0.key == key }
                }
            case 8:
                let n = try cache.delete([key.key], session: key.session)
                let i = model.firstIndex { $0.key == key }
                #expect(n == (i.map { live(model[$0]) ? 1 : 0 } ?? 0), "step \(step)")
                model.removeAll { $0.key == key }
            default:
                if rng.next() % 20 == 0 {
                    let session = "s\(rng.next() % 2)"
                    _ = try cache.flush(session: session)
                    model.removeAll { $0.key.session == session }
                } else {
                    clock.advance(ms: Int64(rng.next() % 5))
                }
            }
        }
        let left = try cache.records().map { MemoryKey(session: $0.session, key: $0.key) }
        let expected = model.filter { $0.expires > clock.nowMs() }.map(\.key)
        #expect(Set(left) == Set(expected))
        #expect(left.count == expected.count)
    }

    /// The index with hashes chosen to collide (a few home buckets, shared tags): every held
    /// node is found after any mix of inserts and removals (backward shift keeps probe runs
    /// whole), and a removed one is not.
    @Test func indexFindsEveryNodeThroughCollisionsAndRemovals() {
        var index = MemoryIndex(seed: 1)
        var hashes: [Int32: UInt64] = [:]
        var rng = SplitMix64(seed: 9)
        var next: Int32 = 0
        for _ in 0..<2_000 {
            if hashes.isEmpty || rng.next() % 3 != 0 {
                // Homes 0...3 of whatever table size; tags 0 or 1 << 32: long shared runs.
                let hash = (rng.next() % 4) | ((rng.next() % 2) << 32)
                index.insert(node: next, hash: hash) { hashes[$0]! }
                hashes[next] = hash
                next += 1
            } else {
                let node = Array(hashes.keys)[Int(rng.next() % UInt64(hashes.count))]
                index.remove(node: node, hash: hashes[node]!) { hashes[$0]! }
                hashes[node] = nil
            }
            #expect(index.count == hashes.count)
        }
        for (node, hash) in hashes {
            #expect(index.find(hash: hash) { $0 == node } == node)
        }
        #expect(Set(index.nodes) == Set(hashes.keys))
        #expect(index.find(hash: 2) { hashes[$0] == nil } == nil)
    }
}
