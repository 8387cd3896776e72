import CopilotCore
import CopilotReference
import Foundation

/// `cache/...` cases, one thread on both sides: gets and sets of each embedded backend against
/// the Python prototype's cache (a dict of zlib-compressed JSON), bulk operations against the
/// same backend one by one, and zstd and lz4 against zlib (the prototype's codec) on
/// chat-completion JSON. Redis is measured against redis-benchmark by
/// `benchmarks/cache_redis.sh` (`copilot cache benchmark`), since it needs a server.
enum CacheBenchSuite {
    static let suite = BenchSuite(name: "cache") { ctx in
        let n = ctx.quick ? 2000 : 20_000
        return [
            memoryCase(op: "get", n: n), memoryCase(op: "set", n: n),
            sqliteGet(n: n, valueBytes: 1024), sqliteGet(n: n, valueBytes: 8192),
            sqliteBulk(op: "get", n: n), sqliteBulk(op: "set", n: n),
            codecCase(encode: true), codecCase(encode: false),
        ]
    }

    /// Deterministic values of `bytes` bytes (chat-completion JSON cut or repeated to size).
    static func value(_ i: Int, bytes: Int) -> [UInt8] {
        var v = Array(CacheBenchmark.chatCompletion(i).utf8)
        while v.count < bytes { v += v }
        return Array(v.prefix(bytes))
    }

    static func keys(_ n: Int) -> [String] { (0..<n).map { "chat:\(String($0 &* 2_654_435_761, radix: 16))" } }

    static func memoryCase(op: String, n: Int) -> BenchCase {
        BenchCase(name: "cache/memory \(op) 1KiB", unit: "\(op)s", unitsPerOp: Double(n)) {
            let keys = Self.keys(n)
            let values = (0..<n).map { value($0, bytes: 1024) }
            let memory = MemoryCache()
            let reference = ReferenceResponseCache()
            for (k, v) in zip(keys, values) {
                try memory.set(k, value: v)
                try reference.set(k, value: v)
            }
            if op == "get" {
                return BenchOperations(
                    reference: { for k in keys { benchBlackHole(try? reference.get(k)) } },
                    optimized: { for k in keys { benchBlackHole(try? memory.get(k)) } })
            }
            return BenchOperations(
                reference: { for (k, v) in zip(keys, values) { try? reference.set(k, value: v) } },
                optimized: { for (k, v) in zip(keys, values) { try? memory.set(k, value: v) } })
        }
    }

    /// A fresh SQLite cache in a temporary directory (removed at exit by the OS's tmp cleaner
    /// only: the bench leaves no file in the user's cache).
    static func sqliteCache() throws -> any ResponseCaching {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var settings = CacheSettings()
        settings.path = dir.appendingPathComponent("bench.sqlite").path
        return try settings.open()
    }

    static func sqliteGet(n: Int, valueBytes: Int) -> BenchCase {
        BenchCase(name: "cache/sqlite get \(valueBytes / 1024)KiB", unit: "gets", unitsPerOp: Double(n)) {
            let keys = Self.keys(n)
            let sqlite = try sqliteCache()
            let reference = ReferenceResponseCache()
            let writes = keys.enumerated().map { CacheWrite(key: $1, value: value($0, bytes: valueBytes)) }
            try sqlite.setMany(writes)
            try reference.setMany(writes)
            return BenchOperations(
                reference: { for k in keys { benchBlackHole(try? reference.get(k)) } },
                optimized: { for k in keys { benchBlackHole(try? sqlite.get(k)) } })
        }
    }

    static func sqliteBulk(op: String, n: Int) -> BenchCase {
        BenchCase(name: "cache/sqlite \(op) bulk 1KiB", unit: "\(op)s", unitsPerOp: Double(n), baselineLabel: "one-by-one") {
            let keys = Self.keys(n)
            let sqlite = try sqliteCache()
            let writes = keys.enumerated().map { CacheWrite(key: $1, value: value($0, bytes: 1024)) }
            try sqlite.setMany(writes)
            if op == "get" {
                return BenchOperations(
                    reference: { for k in keys { benchBlackHole(try? sqlite.get(k)) } },
                    optimized: {
                        for start in stride(from: 0, to: keys.count, by: 100) {
                            benchBlackHole(try? sqlite.getMany(Array(keys[start..<min(start + 100, keys.count)]), session: nil))
                        }
                    })
            }
            return BenchOperations(
                reference: { for w in writes { try? sqlite.set(w.key, value: w.value, ttlMs: nil, session: nil) } },
                optimized: {
                    for start in stride(from: 0, to: writes.count, by: 1000) {
                        try? sqlite.setMany(Array(writes[start..<min(start + 1000, writes.count)]))
                    }
                })
        }
    }

    /// zstd (encode) or lz4 (decode) against zlib, the prototype's codec, on 200 chat
    /// completions of about 4 KiB; MB of original JSON per second.
    static func codecCase(encode: Bool) -> BenchCase {
        let docs = (0..<200).map { Array(CacheBenchmark.chatCompletion($0).utf8) }
        let total = Double(docs.reduce(0) { $0 + $1.count }) / 1e6
        if encode {
            return BenchCase(name: "cache/zstd compress chat JSON", unit: "MB", unitsPerOp: total, baselineLabel: "zlib") {
                BenchOperations(
                    reference: { for d in docs { benchBlackHole(try? Zlib.compress(d)) } },
                    optimized: { for d in docs { benchBlackHole(d.withUnsafeBytes { try? Zstd.compress($0) }) } })
            }
        }
        return BenchCase(name: "cache/lz4 decompress chat JSON", unit: "MB", unitsPerOp: total, baselineLabel: "zlib") {
            let zlib = try docs.map { try Zlib.compress($0) }
            let lz4 = try docs.map { d in try d.withUnsafeBytes { try LZ4.compress($0) } }
            return BenchOperations(
                reference: { for z in zlib { benchBlackHole(try? Zlib.decompress(z)) } },
                optimized: {
                    for (c, d) in zip(lz4, docs) { benchBlackHole(c.withUnsafeBytes { LZ4.decompress($0, originalCount: d.count) }) }
                })
        }
    }
}
