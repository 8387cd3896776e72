@testable import CopilotCore
import Foundation
import Testing
import CopilotTestSupport

/// The async path to Redis: one event-loop thread, non-blocking hiredis connections, calls
/// pipelined on shared connections.
@Suite(.enabled(if: RedisTestServer.available, "redis-server is not installed (apt-get install redis-server)"))
struct RedisEventLoopTests {
    static func value(_ client: Int, _ i: Int) -> [UInt8] { Array("client \(client) value \(i) ".utf8) + [UInt8](repeating: UInt8(i % 251), count: i % 300) }

    /// 64 tasks on 4 connections, each writing and reading back its own keys in pipelines of
    /// up to 16: every caller gets exactly its replies, in order.
    @Test func concurrentCallersGetTheirOwnReplies() async throws {
        let server = try RedisTestServer()
        let dir = try TemporaryDirectory()
        var s = RedisCacheTests.settings(server, dir: dir)
        s.fallback = false
        s.redisPoolSize = 4
        let cache = try s.open()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<64 {
                group.addTask {
                    for round in 0..<20 {
                        let n = 1 + (c + round) % 16
                        let keys = (0..<n).map { "c\(c):\(round):\($0)" }
                        try await cache.setManyAsync(keys.enumerated().map { CacheWrite(key: $1, value: Self.value(c, round * 16 + $0)) })
                        let got = try await cache.getManyAsync(keys + ["absent:\(c)"], session: nil)
                        #expect(got == (0..<n).map { Self.value(c, round * 16 + $0) } + [nil])
                    }
                }
            }
            try await group.waitForAll()
        }
        // The blocking API reads what the async one wrote.
        #expect(try cache.get("c63:19:0") == Self.value(63, 19 * 16))
    }

    /// Killed with calls in flight: they fail as unreachable (never hang); after a restart the
    /// next calls reconnect.
    @Test func aServerThatDiesFailsCallsAndTheNextOnesReconnect() async throws {
        let server = try RedisTestServer()
        let store = RedisCacheStore(url: try RedisURL(server.url), namespace: "t", poolSize: 2, timeoutMs: 2000)
        let key = MemoryKey(session: nil, key: "k")
        let blob = StoredBlob(bytes: [1, 2, 3], originalBytes: 3, expiresAtMs: nil, ttlMs: nil)
        try await store.writeAsync([(key, blob)])
        #expect(try await store.readAsync([key]) == [[1, 2, 3]])
        server.kill()
        await #expect(throws: CacheError.self) { try await store.readAsync([key]) }
        await #expect(throws: CacheError.self) { try await store.readAsync([key]) }
        try server.start()
        try await store.writeAsync([(key, blob)])
        #expect(try await store.readAsync([key, key]) == [[1, 2, 3], [1, 2, 3]])
    }

    /// A server that stops answering (SIGSTOP): calls fail after the timeout, not never.
    @Test func aHungServerTimesOut() async throws {
        let server = try RedisTestServer()
        let store = RedisCacheStore(url: try RedisURL(server.url), namespace: "t", poolSize: 1, timeoutMs: 1000)
        let key = MemoryKey(session: nil, key: "k")
        #expect(try await store.readAsync([key]) == [nil])
        server.pause()
        defer { server.resume() }
        do {
            _ = try await store.readAsync([key])
            Issue.record("a hung server answered")
        } catch CacheError.redisUnreachable(_, let reason) {
            #expect(reason.contains("no reply within 1000 ms"))
        }
        server.resume()
        #expect(try await store.readAsync([key]) == [nil])
    }

    /// Redis killed and restarted under async callers with the fallback on: no call fails,
    /// and writes after the restart reach Redis again.
    @Test func asyncCallersFallBackAndReturn() async throws {
        let server = try RedisTestServer()
        let dir = try TemporaryDirectory()
        let cache = try RedisCacheTests.settings(server, dir: dir).open()
        var failures = 0
        for i in 0..<300 {
            if i == 100 { server.kill() }
            if i == 200 { try server.start() }
            do {
                try await cache.setAsync("loop\(i)", value: Array("v\(i)".utf8))
                #expect(try await cache.getAsync("loop\(i)") == Array("v\(i)".utf8))
            } catch {
                failures += 1
            }
            if i >= 200 { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(failures == 0)
        let direct = try RedisConnection(url: RedisURL(server.url), timeoutMs: 500)
        #expect(try direct.command(["EXISTS", "copilot:k:loop299"]) == .integer(1))
    }

    /// A wrong password through the event loop: an authentication error that never shows it;
    /// a unix-socket URL with a database works.
    @Test func credentialsAndUnixSockets() async throws {
        let server = try RedisTestServer(password: "right-one")
        let wrong = RedisCacheStore(url: try RedisURL("redis://:wrong-one@127.0.0.1:\(server.port)/0"), namespace: "t")
        do {
            _ = try await wrong.readAsync([MemoryKey(session: nil, key: "k")])
            Issue.record("a wrong password was accepted")
        } catch {
            #expect(error.localizedDescription.contains("refused the credentials"))
            #expect(!error.localizedDescription.contains("wrong-one"))
        }
        let unix = RedisCacheStore(url: try RedisURL("unix://\(server.socketPath)?db=3&password=right-one"), namespace: "t")
        let key = MemoryKey(session: "s", key: "u")
        try await unix.writeAsync([(key, StoredBlob(bytes: [7], originalBytes: 1, expiresAtMs: nil, ttlMs: 60_000))])
        #expect(try await unix.readAsync([key]) == [[7]])
        let direct = try RedisConnection(url: RedisURL("redis://:right-one@127.0.0.1:\(server.port)/3"), timeoutMs: 500)
        guard case .integer(let pttl) = try direct.command(["PTTL", "t:s:{s}:u"]) else { Issue.record("no PTTL"); return }
        // Set in milliseconds (PX 60000, not seconds); the margin is for a loaded machine.
        #expect(pttl > 10_000 && pttl <= 60_000)
    }

    /// An overwrite through the async API reaches the other process's memory tier too.
    @Test func asyncOverwritesKeepMemoryTiersCoherent() async throws {
        let server = try RedisTestServer()
        let dir = try TemporaryDirectory()
        let s = RedisCacheTests.settings(server, dir: dir, backend: .tiered)
        let a = try #require(try s.open() as? TieredCache), b = try #require(try s.open() as? TieredCache)
        for _ in 0..<200 where !(a.invalidationReady && b.invalidationReady) { try await Task.sleep(for: .milliseconds(10)) }
        try await a.setAsync("k", value: [1])
        #expect(try await b.getAsync("k") == [1])  // b's memory tier now holds 1
        try await a.setAsync("k", value: [2])
        var seen: [UInt8]? = nil
        for _ in 0..<200 {
            seen = try await b.getAsync("k")
            if seen == [2] { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(seen == [2])
    }

    /// A store released with calls in flight completes them (no caller waits forever).
    @Test func closingFailsWhatIsInFlight() async throws {
        let server = try RedisTestServer()
        var store: RedisCacheStore? = RedisCacheStore(url: try RedisURL(server.url), namespace: "t", poolSize: 1, timeoutMs: 60_000)
        let key = MemoryKey(session: nil, key: "k")
        _ = try await store!.readAsync([key])
        server.pause()
        defer { server.resume() }
        let inFlight = Task { [store] in try await store!.readAsync([key]) }
        try await Task.sleep(for: .milliseconds(50))
        store = nil
        inFlight.cancel()
        server.resume()
        // Either it was answered after the resume or failed at close; it must not hang.
        _ = try? await inFlight.value
    }
}
