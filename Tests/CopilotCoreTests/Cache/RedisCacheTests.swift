@testable import CopilotCore
import Foundation
import Testing
import CopilotTestSupport

@Suite(.enabled(if: RedisTestServer.available, "redis-server is not installed (apt-get install redis-server)"))
struct RedisCacheTests {
    static func settings(_ server: RedisTestServer, dir: TemporaryDirectory, backend: CacheBackend = .redis) -> CacheSettings {
        var s = CacheSettings()
        s.backend = backend
        s.tierStore = .redis
        s.url = server.url
        s.path = dir.path("fallback.sqlite")
        s.redisTimeoutMs = 500
        return s
    }

    @Test func valuesLandInRedisWithPXAndHashTaggedSessions() throws {
        let server = try RedisTestServer()
        let dir = try TemporaryDirectory()
        let cache = try Self.settings(server, dir: dir).open()
        try cache.set("plain", value: [1, 2], ttlMs: 60_000, session: nil)
        try cache.set("k", value: [3], ttlMs: nil, session: "standup")
        let conn = try RedisConnection(url: RedisURL(server.url), timeoutMs: 1000)
        guard case .integer(let pttl) = try conn.command(["PTTL", "copilot:k:plain"]) else { Issue.record("no PTTL"); return }
        #expect(pttl > 59_000 && pttl <= 60_000)
        #expect(try conn.command(["EXISTS", "copilot:s:{standup}:k"]) == .integer(1))
        #expect(try cache.flush(session: "standup") == 1)
        #expect(try conn.command(["EXISTS", "copilot:s:{standup}:k"]) == .integer(0))
        try cache.setMany((0..<50).map { CacheWrite(key: "b\($0)", value: [UInt8($0)]) })
        #expect(try cache.getMany((0..<50).map { "b\($0)" }, session: nil).map { $0?.first } == (0..<50).map { UInt8($0) })
    }

    @Test func unixSocketURLsWork() throws {
        let server = try RedisTestServer()
        let dir = try TemporaryDirectory()
        var s = Self.settings(server, dir: dir)
        s.url = "unix://\(server.socketPath)?db=2"
        s.fallback = false
        let cache = try s.open()
        try cache.set("u", value: [4, 2])
        #expect(try cache.get("u") == [4, 2])
        let conn = try RedisConnection(url: RedisURL(server.url), timeoutMs: 1000)
        _ = try conn.command(["SELECT", "2"])
        #expect(try conn.command(["EXISTS", "copilot:k:u"]) == .integer(1))
    }

    @Test func aWrongPasswordIsAnErrorThatNeverShowsIt() throws {
        let server = try RedisTestServer(password: "right-one")
        let dir = try TemporaryDirectory()
        var s = Self.settings(server, dir: dir)
        s.url = "redis://:wrong-one@127.0.0.1:\(server.port)/0"
        do {
            let cache = try s.open()
            _ = try cache.get("k")
            Issue.record("a wrong password was accepted")
        } catch {
            #expect(error.localizedDescription.contains("refused the credentials"))
            #expect(!error.localizedDescription.contains("wrong-one"))
        }
        s.url = server.url
        let cache = try s.open()
        try cache.set("k", value: [9])
        #expect(try cache.get("k") == [9])
    }

    /// Redis killed and restarted during a read/write loop: no operation fails (the embedded
    /// store serves meanwhile), and writes after the restart reach Redis again.
    @Test func fallsBackWhileRedisIsDownAndReturns() throws {
        let server = try RedisTestServer()
        let dir = try TemporaryDirectory()
        let cache = try Self.settings(server, dir: dir).open()
        let direct = { try RedisConnection(url: RedisURL(server.url), timeoutMs: 500) }
        var failures = 0
        for i in 0..<300 {
            if i == 100 { server.kill() }
            if i == 200 { try server.start() }
            do {
                try cache.set("loop\(i)", value: Array("v\(i)".utf8))
                #expect(try cache.get("loop\(i)") == Array("v\(i)".utf8))
            } catch {
                failures += 1
            }
            if i >= 200 { usleep(5000) }
        }
        #expect(failures == 0)
        // Back on Redis: the last writes are in the server.
        #expect(try direct().command(["EXISTS", "copilot:k:loop299"]) == .integer(1))
        // While it was down, writes went to the embedded file.
        let embedded = try SQLiteCacheStore(path: dir.path("fallback.sqlite"), namespace: "copilot")
        #expect(try embedded.read([MemoryKey(session: nil, key: "loop150")])[0] != nil)
    }

    @Test func withoutFallbackTheErrorIsTheAnswer() throws {
        let dir = try TemporaryDirectory()
        var s = CacheSettings()
        s.backend = .redis
        s.url = "redis://127.0.0.1:\(RedisTestServer.freePort())/0"
        s.fallback = false
        s.path = dir.path("never.sqlite")
        #expect(throws: CacheError.self) { try s.open() }
        #expect(!FileManager.default.fileExists(atPath: dir.path("never.sqlite")))
    }

    /// Two processes' tiered caches on one Redis: an overwrite or delete in one drops the
    /// other's memory copy.
    @Test func memoryTiersStayCoherent() throws {
        let server = try RedisTestServer()
        let dir = try TemporaryDirectory()
        let s = Self.settings(server, dir: dir, backend: .tiered)
        let a = try #require(try s.open() as? TieredCache), b = try #require(try s.open() as? TieredCache)
        func waitSubscribed(_ t: TieredCache) { for _ in 0..<200 where !(t.invalidationReady) { usleep(10_000) } }
        waitSubscribed(a)
        waitSubscribed(b)
        try a.set("k", value: [1])
        #expect(try b.get("k") == [1])  // b's memory tier now holds 1
        try a.set("k", value: [2])
        func eventually(_ body: () throws -> Bool) rethrows -> Bool {
            for _ in 0..<200 { if try body() { return true }; usleep(10_000) }
            return false
        }
        #expect(try eventually { try b.get("k") == [2] })
        _ = try a.delete(["k"], session: nil)
        #expect(try eventually { try b.get("k") == nil })
        try b.set("s", value: [5], ttlMs: nil, session: "m")
        #expect(try a.get("s", session: "m") == [5])
        _ = try b.flush(session: "m")
        #expect(try eventually { try a.get("s", session: "m") == nil })
    }
}
