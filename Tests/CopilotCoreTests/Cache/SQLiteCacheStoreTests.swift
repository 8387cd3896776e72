@testable import CopilotCore
import Foundation
import Testing
import CopilotTestSupport

@Suite struct SQLiteCacheStoreTests {
    static func open(_ path: String, clock: any CacheClock = SystemCacheClock()) throws -> any ResponseCaching {
        var s = CacheSettings()
        s.path = path
        return try s.open(clock: clock)
    }

    @Test func createsAPrivateFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("sub/dir/cache.sqlite")
        let cache = try Self.open(path)
        try cache.set("k", value: Array("private talk".utf8))
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file) has mode \(String(mode ?? 0, radix: 8))")
        }
        let dirMode = try FileManager.default.attributesOfItem(atPath: dir.path("sub/dir"))[.posixPermissions] as? Int
        #expect(dirMode == 0o700)
    }

    @Test func aFileThatIsNotADatabaseIsLeftUntouched() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("notes.txt")
        let original = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) })
        try original.write(to: URL(fileURLWithPath: path))
        #expect(throws: CacheError.notADatabase(path: path)) { try Self.open(path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func twoProcessesShareOneFile() throws {
        let dir = try TemporaryDirectory()
        let a = try Self.open(dir.path("c.sqlite")), b = try Self.open(dir.path("c.sqlite"))
        try a.set("k", value: [1, 2, 3])
        #expect(try b.get("k") == [1, 2, 3])
        try b.setMany((0..<100).map { CacheWrite(key: "bulk\($0)", value: [UInt8($0)]) })
        #expect(try a.getMany(["bulk0", "bulk99", "none"], session: nil) == [[0], [99], nil])
        try a.sync()
        try b.sync()
        // Counters from both connections add up in the file.
        #expect(try a.stats().counters.sets == 101)
    }

    @Test func expiredEntriesArePurgedInBoundedSteps() throws {
        let dir = try TemporaryDirectory()
        let clock = ManualCacheClock(startMs: 1_000_000)
        let cache = try Self.open(dir.path("c.sqlite"), clock: clock)
        try cache.setMany((0..<600).map { CacheWrite(key: "old\($0)", value: [1], ttlMs: 1000) })
        clock.advance(ms: 2000)
        #expect(try cache.stats().entries == 0)  // not live
        // The next thousand writes trigger one purge of at most 500 expired rows.
        try cache.setMany((0..<1000).map { CacheWrite(key: "new\($0)", value: [2]) })
        let store = try #require((cache as? StoredCache)?.store as? SQLiteCacheStore)
        #expect(try store.scan().count == 1000 + 100)
        #expect(try cache.stats().counters.expirations == 500)
    }

    @Test func damagedValuesReadAsMissesAndAreCounted() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("c.sqlite")
        let cache = try Self.open(path)
        try cache.set("k", value: Array(String(repeating: "abc ", count: 1000).utf8))
        // Flip one byte of the stored value behind the cache's back.
        let db = try SQLiteDatabase(path: path, mode: .existingOnly)
        try db.execute("UPDATE copilot_cache SET value = CAST(substr(value, 1, 30) || 'X' || substr(value, 32) AS BLOB)")
        #expect(try cache.get("k") == nil)
        let stats = try cache.stats()
        #expect(stats.counters.corrupt == 1 && stats.counters.misses == 1)
    }

    @Test func aReadOnlyDirectoryIsAClearError() throws {
        let dir = try TemporaryDirectory()
        let locked = dir.path("ro")
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o500])
        defer { chmod(locked, 0o700) }
        // root ignores permissions: a directory under /proc is read-only for everyone.
        let path = getuid() == 0 ? "/proc/copilot-cache-test/cache.sqlite" : locked + "/cache.sqlite"
        do {
            _ = try Self.open(path)
            Issue.record("opened \(path)")
        } catch let error as CacheError {
            guard case .storeUnavailable(let p, _) = error else { Issue.record("\(error)"); return }
            #expect(p == path)
            #expect(error.localizedDescription.contains("writable --path"))
        }
    }
}
