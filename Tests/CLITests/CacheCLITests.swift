@testable import CopilotCore
import Foundation
import Testing

@Suite final class CacheCLITests {
    let dir: URL
    init() throws { dir = try CLI.temporaryDirectory() }
    deinit { try? FileManager.default.removeItem(at: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    var store: [String] { ["--path", path("cache.sqlite")] }

    func cache(_ args: [String], stdin: Data? = nil, environment: [String: String] = [:]) throws -> CLIResult {
        try CLI.run(["cache"] + args, stdin: stdin, environment: environment)
    }

    @Test func setGetExistsAndExitCodes() throws {
        #expect(try cache(["set", "q1", "{\"answer\": 42}", "--ttl", "3600"] + store).status == 0)
        let hit = try cache(["get", "q1"] + store)
        #expect(hit.status == 0 && hit.out == "{\"answer\": 42}")
        let miss = try cache(["get", "nope"] + store)
        #expect(miss.status == 1 && miss.out.isEmpty && miss.err.isEmpty)
        #expect(try cache(["exists", "q1"] + store).status == 0)
        #expect(try cache(["exists", "nope"] + store).status == 1)
        let ttl = try cache(["ttl", "q1"] + store)
        #expect(ttl.status == 0 && (3000...3600).contains(Int(ttl.out.trimmingCharacters(in: .newlines)) ?? 0))
        #expect(try cache(["set", "forever", "x"] + store).status == 0)
        #expect(try cache(["ttl", "forever"] + store).out == "-1\n")
        #expect(try cache(["ttl", "nope"] + store).status == 1)
        let del = try cache(["del", "q1", "nope"] + store)
        #expect(del.status == 0 && del.out == "1\n")
        #expect(try cache(["get", "q1"] + store).status == 1)
    }

    /// `cache benchmark --json`: every request counted, the client model the store calls for.
    @Test func benchmarkReportsWhatItRan() throws {
        let run = try cache(["benchmark", "--json", "--clients", "3", "--pipeline", "4", "--requests", "120", "--keyspace", "50"] + store)
        #expect(run.status == 0, "\(run.err)")
        let row = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any])
        #expect(row["backend"] as? String == "sqlite")
        #expect(row["client_model"] as? String == "threads")
        #expect(row["requests"] as? Int == 120)
        #expect((row["requests_per_second"] as? Int ?? 0) > 0)
        let bad = try cache(["benchmark", "--clients", "0"] + store)
        #expect(bad.status != 0 && bad.err.contains("--clients must be at least 1"))
    }

    @Test func stdinValuesAreBinarySafe() throws {
        let bytes = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) } + [0, 0, 10, 13, 255])
        #expect(try cache(["set", "blob"] + store, stdin: bytes).status == 0)
        let back = try cache(["get", "blob"] + store)
        #expect(back.status == 0 && back.stdout == bytes)
    }

    @Test func sessionsKeysAndFlush() throws {
        for (k, s) in [("a1", "m"), ("a2", "m"), ("b1", "other")] {
            #expect(try cache(["set", k, "v", "--session", s] + store).status == 0)
        }
        #expect(try cache(["set", "a9", "plain"] + store).status == 0)
        #expect(try cache(["keys", "--session", "m"] + store).out == "a1\na2\n")
        #expect(try cache(["keys", "a"] + store).out == "a9\n")
        let sessionTTL = try cache(["ttl", "a1", "--session", "m"] + store)
        #expect(Int(sessionTTL.out.trimmingCharacters(in: .newlines)) ?? 0 > 86_000)
        #expect(try cache(["flush", "--session", "m"] + store).out == "2\n")
        #expect(try cache(["keys", "--session", "m"] + store).out == "")
        #expect(try cache(["get", "b1", "--session", "other"] + store).out == "v")
        let both = try cache(["flush", "--session", "m", "--all"] + store)
        #expect(both.status == 64 && both.err.contains("exactly one"))
        #expect(try cache(["flush", "--all"] + store).out == "2\n")
    }

    @Test func exportImportRoundTripAndAllOrNothing() throws {
        #expect(try cache(["set", "k1", "one", "--ttl", "600"] + store).status == 0)
        #expect(try cache(["set", "k2", "two", "--session", "s"] + store).status == 0)
        #expect(try cache(["set", "big"] + store, stdin: Data(String(repeating: "compress me ", count: 500).utf8)).status == 0)
        let exported = try cache(["export"] + store)
        #expect(exported.status == 0 && exported.out.split(separator: "\n").count == 3)
        let other = ["--path", path("other.sqlite")]
        let imported = try cache(["import"] + other, stdin: exported.stdout)
        #expect(imported.status == 0 && imported.err.contains("imported 3"))
        #expect(try cache(["get", "big"] + other).out == String(repeating: "compress me ", count: 500))
        #expect(try cache(["get", "k2", "--session", "s"] + other).out == "two")
        #expect(try cache(["export"] + other).out.count == exported.out.count)

        let bad = Data("{\"key\":\"n1\",\"value\":\"eA==\",\"ttl_ms\":null,\"session\":null}\n{\"key\":\"n2\",\"value\":\"%%%\"}\n".utf8)
        let refused = try cache(["import"] + other, stdin: bad)
        #expect(refused.status == 2 && refused.err.contains("stdin:2") && refused.err.contains("base64") && refused.err.contains("nothing was imported"))
        #expect(try cache(["exists", "n1"] + other).status == 1)
        let notJSON = try cache(["import"] + other, stdin: Data("{\"key\": \"x\", \"value\": \"eA==\"}\nnot json\n".utf8))
        #expect(notJSON.status == 2 && notJSON.err.contains("stdin:2"))
    }

    @Test func badInputIsOneLineAndExitTwo() throws {
        let notDB = path("notes.txt")
        let original = Data("my notes, not a cache\n".utf8)
        try original.write(to: URL(fileURLWithPath: notDB))
        let cases: [([String], String)] = [
            (["get", "k", "--path", notDB], "not an SQLite database"),
            (["set", "", "x"] + store, "keys cannot be empty"),
            (["set", "k", "x", "--ttl", "-5"] + store, "invalid TTL -5"),
            (["set", "k", "x", "--ttl", "0"] + store, "invalid TTL 0"),
            (["set", "k", "x", "--ttl", "99999999999"] + store, "invalid TTL"),
            (["set", "k", "x", "--ttl", "1.5"] + store, "invalid TTL"),
            (["get", "k", "--url", "redis://127.0.0.1:99999/0"], "port must be 1 to 65535"),
            (["get", "k", "--url", "http://x"], "must start with redis://"),
            (["get", "k", "--url", "redis://:sekrit@127.0.0.1:\(freePort())/0", "--no-fallback"], "cannot reach Redis"),
            (["set", "k", "x", "--session", "a{b}"] + store, "invalid session name"),
        ]
        for (args, message) in cases {
            let r = try cache(args)
            #expect(r.status == 2, "\(args): \(r.status) \(r.err)")
            #expect(r.err.contains(message), "\(args): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1, "\(args): \(r.err)")
            #expect(!r.err.contains("sekrit"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: notDB)) == original)
        // A value over max_value_bytes.
        let config = path("small.toml")
        try Data("[cache]\nmax_value_bytes = 100\n".utf8).write(to: URL(fileURLWithPath: config))
        let tooBig = try cache(["set", "k", "--config", config] + store, stdin: Data(count: 101))
        #expect(tooBig.status == 2 && tooBig.err.contains("over the 100-byte limit"))
        #expect(try cache(["set", "k", "--config", config] + store, stdin: Data(count: 100)).status == 0)
    }

    @Test func canonicalKeyOfARequest() throws {
        let a = try cache(["key"], stdin: Data(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0}"#.utf8))
        let b = try cache(["key"], stdin: Data(#"{ "messages": [{"content": "hi", "role": "user"}], "temperature": 0.0, "model": "m", "stream": true }"#.utf8))
        #expect(a.status == 0 && a.out == b.out && a.out.hasPrefix("chat:"))
        let canonical = try cache(["key", "--canonical"], stdin: Data(#"{"temperature":0,"model":"m","messages":[{"role":"user","content":"hi"}]}"#.utf8))
        #expect(canonical.out == #"{"messages":[{"content":"hi","role":"user"}],"model":"m","temperature":0}"# + "\n")
        let bad = try cache(["key"], stdin: Data("{\"model\": \"m\"}".utf8))
        #expect(bad.status == 2 && bad.err.contains("\"messages\""))
    }

    @Test func statsCountEveryProcess() throws {
        _ = try cache(["set", "k", String(repeating: "x", count: 5000)] + store)
        _ = try cache(["get", "k"] + store)
        _ = try cache(["get", "none"] + store)
        let stats = try cache(["stats", "--json"] + store)
        let object = try JSONSerialization.jsonObject(with: stats.stdout) as? [String: Any]
        #expect(object?["hits"] as? Int == 1 && object?["misses"] as? Int == 1 && object?["sets"] as? Int == 1)
        #expect(object?["entries"] as? Int == 1)
        #expect((object?["bytes_saved"] as? Int ?? 0) > 4000)
    }

    /// `kill -9` in the middle of a write loop, 100 times: the file opens, passes
    /// `PRAGMA integrity_check`, and every write the loop reported as returned is there.
    @Test func killNineNeverLosesAReturnedWrite() throws {
        let file = path("crash.sqlite")
        var rng = SystemRandomNumberGenerator()
        var checked = 0
        for round in 0..<100 {
            let process = Process()
            process.executableURL = CLI.binary
            process.arguments = ["cache", "write-loop", "--path", file, "--count", "1000000", "--namespace", "r\(round % 5)"]
            var env = ProcessInfo.processInfo.environment
            env["COPILOT_CONFIG"] = nil
            env["XDG_CONFIG_HOME"] = "/nonexistent"
            process.environment = env
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Let it write for 0 to 40 ms after its first write returned.
            var printed = Data()
            while !printed.contains(UInt8(ascii: "\n")) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                printed.append(chunk)
            }
            usleep(UInt32.random(in: 0...40_000, using: &rng))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            printed.append(out.fileHandleForReading.readDataToEndOfFile())
            let keys = String(decoding: printed, as: UTF8.self).split(separator: "\n").map(String.init)
            let store = try SQLiteCacheStore(path: file, namespace: "r\(round % 5)")
            #expect(try store.integrityCheck() == "ok")
            let found = try store.read(keys.map { MemoryKey(session: nil, key: $0) })
            let lost = zip(keys, found).filter { $0.1 == nil }.map(\.0)
            #expect(lost.isEmpty, "round \(round): \(lost.count) of \(keys.count) returned writes lost, first \(lost.first ?? "")")
            checked += keys.count
        }
        #expect(checked > 100)
    }

    func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
