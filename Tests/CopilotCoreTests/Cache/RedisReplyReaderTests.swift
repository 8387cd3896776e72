@testable import CopilotCore
import Foundation
import Synchronization
import Testing
import CopilotTestSupport

/// The event loop's read path (hiredis's reader with our reply objects, values copied straight
/// into each call's replies): every byte must come back as written, to the caller that asked,
/// and a connection that breaks must fail its calls, never answer them with wrong bytes.
@Suite(.enabled(if: RedisTestServer.available, "redis-server is not installed (apt-get install redis-server)"))
struct RedisReplyReaderTests {
    /// Value sizes around the edges that matter: empty, one byte, the 64 KiB read buffer and
    /// hiredis's 16 KiB reader buffer, and values that need many reads.
    static let sizes = [0, 1, 2, 3, 15, 255, 256, 1023, 1024, 1025, 4096, 16_383, 16_384, 16_385, 65_535, 65_536, 65_537, 200_003]

    /// A seeded value of `size` bytes: random binary, a run that compresses, or bytes that look
    /// like RESP (`$-1`, `*2`, CRLF) so a parser that looked inside a value would misread it.
    static func value(_ rng: inout SplitMix64, size: Int) -> [UInt8] {
        switch rng.next() % 3 {
        case 0: return (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 1: return [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next()), count: size)
        default:
            let resp = Array("$-1\r\n*2\r\n$3\r\nGET\r\n:1\r\n-ERR\r\n+OK\r\n\r\n".utf8)
            return (0..<size).map { resp[$0 % resp.count] }
        }
    }

    /// Seeded scripts of pipelined sets and gets (binary values of every edge size, keys never
    /// written, keys read twice in one pipeline) through the async API on Redis and on the
    /// memory backend: every answer must be the same, byte for byte.
    @Test(arguments: [UInt64(1), 2, 3])
    func pipelinedGetsAndSetsAgreeWithTheMemoryBackend(seed: UInt64) async throws {
        let server = try RedisTestServer()
        let dir = try TemporaryDirectory()
        var s = RedisCacheTests.settings(server, dir: dir)
        s.fallback = false
        s.redisPoolSize = 3
        let redis = try s.open()
        var m = CacheSettings()
        m.backend = .memory
        let memory = try m.open()
        var rng = SplitMix64(seed: seed)
        let keys = (0..<40).map { "key\($0)" }
        for round in 0..<60 {
            let n = 1 + Int(rng.next() % 24)
            if rng.next() % 2 == 0 {
                var writes: [CacheWrite] = []
                for _ in 0..<n {
                    let size = Self.sizes[Int(rng.next() % UInt64(Self.sizes.count))]
                    writes.append(CacheWrite(key: keys[Int(rng.next() % UInt64(keys.count))], value: Self.value(&rng, size: size)))
                }
                try await redis.setManyAsync(writes)
                try await memory.setManyAsync(writes)
            } else {
                // Half the key space is never written: those read as nil.
                let asked = (0..<n).map { _ in rng.next() % 2 == 0 ? keys[Int(rng.next() % UInt64(keys.count))] : "never\(rng.next() % 8)" }
                let fromRedis = try await redis.getManyAsync(asked, session: nil)
                let fromMemory = try await memory.getManyAsync(asked, session: nil)
                #expect(fromRedis == fromMemory, "seed \(seed), round \(round): \(asked)")
            }
        }
        // The blocking API (hiredis's own reply objects) reads the same bytes.
        #expect(try redis.getMany(keys, session: nil) == (try memory.getMany(keys, session: nil)))
    }

    /// Many callers at once on few connections, so their pipelines share a connection, its
    /// writes and its reads (replies split across reads at every size): each caller gets
    /// exactly its own bytes.
    @Test func concurrentPipelinesOnSharedConnectionsGetTheirOwnBytes() async throws {
        let server = try RedisTestServer()
        let store = RedisCacheStore(url: try RedisURL(server.url), namespace: "t", poolSize: 2, timeoutMs: 5000)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<24 {
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(client) &+ 100)
                    for round in 0..<12 {
                        let n = 1 + Int(rng.next() % 16)
                        let entries = (0..<n).map { i -> (MemoryKey, StoredBlob) in
                            let size = Self.sizes[Int(rng.next() % UInt64(Self.sizes.count))]
                            let bytes = Self.value(&rng, size: size)
                            return (MemoryKey(session: i % 3 == 0 ? "s\(client)" : nil, key: "c\(client):\(round):\(i)"),
                                    StoredBlob(bytes: bytes, originalBytes: bytes.count, expiresAtMs: nil, ttlMs: i % 2 == 0 ? 600_000 : nil))
                        }
                        try await store.writeAsync(entries)
                        let absent = MemoryKey(session: nil, key: "absent:\(client):\(round)")
                        let got = try await store.readAsync([absent] + entries.map(\.0) + [absent])
                        #expect(got == [nil] + entries.map(\.1.bytes) + [nil], "client \(client), round \(round)")
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Replies of every shape (status, integer, error, nil, empty and nested arrays with nils,
    /// errors and binary strings inside) read through the event loop equal hiredis's own reply
    /// objects read by the blocking client; a call of no commands completes with no replies.
    @Test func repliesOfEveryShapeMatchTheBlockingClient() async throws {
        let server = try RedisTestServer()
        let store = RedisCacheStore(url: try RedisURL(server.url), namespace: "t", poolSize: 1, timeoutMs: 5000)
        let binary: [UInt8] = [0, 13, 10, 36, 255, 42, 0]
        let script = "return {1, {2, 'x', {}}, {}, false, redis.status_reply('FINE'), redis.error_reply('BAD inside'), ARGV[1]}"
        let commands: [[[UInt8]]] = [
            ["SET", "n", "41"], ["INCR", "n"], ["GET", "missing"], ["ECHO"], ["INCR", "list"], ["RPUSH", "list", "a"],
            ["INCR", "list"], ["HSET", "h", "f", "v"], ["HGETALL", "h"], ["LRANGE", "nothing", "0", "-1"],
            ["EVAL", script, "0"], ["ECHO", ""], ["MGET", "n", "missing", "list"],
        ].map { $0.map { Array($0.utf8) } } + [[Array("ECHO".utf8), binary], [Array("EVAL".utf8), Array(script.utf8), Array("0".utf8), binary]]
        var encoded = RedisCommands()
        for c in commands { encoded.append(c) }
        let async = try await store.executeAsync(encoded)
        #expect(try await store.executeAsync(RedisCommands()) == [])
        _ = try await store.executeAsync({ var c = RedisCommands(); c.append([Array("FLUSHALL".utf8)]); return c }())
        let blocking = try RedisConnection(url: RedisURL(server.url), timeoutMs: 5000).pipeline(commands)
        #expect(async == blocking)
        #expect(async.count == commands.count)
        #expect(async[1] == .integer(42) && async[2] == .null && async.last.map { reply in
            if case .array(let items) = reply { return items.last == .bulk(binary) && items.count == 7 }
            return false
        } == true)
    }

    /// Redis killed while pipelines of large and small values are in flight: every call either
    /// returns exactly what was written or fails as unreachable; after a restart the store
    /// reconnects and reads exact bytes again.
    @Test func aServerKilledMidPipelineFailsCallsAndNeverGarbles() async throws {
        let server = try RedisTestServer()
        let store = RedisCacheStore(url: try RedisURL(server.url), namespace: "t", poolSize: 2, timeoutMs: 2000)
        var rng = SplitMix64(seed: 7)
        let entries = (0..<48).map { i -> (MemoryKey, StoredBlob) in
            let bytes = Self.value(&rng, size: i % 4 == 0 ? 300_000 + i : Self.sizes[i % Self.sizes.count])
            return (MemoryKey(session: nil, key: "k\(i)"), StoredBlob(bytes: bytes, originalBytes: bytes.count, expiresAtMs: nil, ttlMs: nil))
        }
        try await store.writeAsync(entries)
        // Per caller: pipelines answered, and whether it saw the failure.
        final class Counter: Sendable { let value = Atomic<Int>(0) }
        let answeredSoFar = Counter()
        let outcomes = try await withThrowingTaskGroup(of: (answered: Int, failed: Bool).self) { group in
            for client in 0..<8 {
                group.addTask {
                    var answered = 0
                    for round in 0..<10_000 {
                        let picked = (0..<16).map { entries[(client * 7 + round * 5 + $0 * 3) % entries.count] }
                        do {
                            let got = try await store.readAsync(picked.map(\.0))
                            #expect(got == picked.map(\.1.bytes), "client \(client), round \(round)")
                            answered += 1
                            answeredSoFar.value.add(1, ordering: .relaxed)
                        } catch CacheError.redisUnreachable {
                            return (answered, true)
                        }
                    }
                    return (answered, false)
                }
            }
            // Killed once pipelines are flowing (a few answered), however loaded the machine.
            for _ in 0..<3000 where answeredSoFar.value.load(ordering: .relaxed) < 8 { try await Task.sleep(for: .milliseconds(10)) }
            server.kill()
            var all: [(answered: Int, failed: Bool)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        #expect(outcomes.reduce(0) { $0 + $1.answered } > 0)
        #expect(outcomes.filter(\.failed).count == outcomes.count)
        try server.start()
        #expect(try await store.readAsync([entries[0].0]) == [nil])  // no persistence: a new, empty server
        try await store.writeAsync(entries)
        #expect(try await store.readAsync(entries.map(\.0)) == entries.map(\.1.bytes))
    }

    /// The same with the embedded fallback on: no call fails, and every value read is either
    /// the one written or a miss (the fallback store never had it), never other bytes.
    @Test func withTheFallbackAKilledServerGivesMissesNotWrongValues() async throws {
        let server = try RedisTestServer()
        let dir = try TemporaryDirectory()
        let cache = try RedisCacheTests.settings(server, dir: dir).open()
        var rng = SplitMix64(seed: 11)
        let writes = (0..<32).map { CacheWrite(key: "f\($0)", value: Self.value(&rng, size: $0 % 4 == 0 ? 150_000 : Self.sizes[$0 % Self.sizes.count])) }
        try await cache.setManyAsync(writes)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<6 {
                group.addTask {
                    for round in 0..<400 {
                        let picked = (0..<12).map { writes[(client * 5 + round * 3 + $0) % writes.count] }
                        let got = try await cache.getManyAsync(picked.map(\.key), session: nil)
                        for (w, value) in zip(picked, got) where value != nil {
                            #expect(value == w.value, "client \(client), round \(round), key \(w.key)")
                        }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            server.kill()
            try await group.waitForAll()
        }
    }
}
