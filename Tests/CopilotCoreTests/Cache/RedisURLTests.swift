import CopilotCore
import Testing

@Suite struct RedisURLTests {
    @Test func parsesTheUsualForms() throws {
        let plain = try RedisURL("redis://127.0.0.1:6380/2", environment: [:])
        #expect(plain.endpoint == .tcp(host: "127.0.0.1", port: 6380) && plain.database == 2 && plain.password == nil)
        let auth = try RedisURL("redis://alice:s%40cret@cache.local/0", environment: [:])
        #expect(auth.user == "alice" && auth.password == "s@cret" && auth.endpoint == .tcp(host: "cache.local", port: 6379))
        let passwordOnly = try RedisURL("redis://:pw@[::1]:7000", environment: [:])
        #expect(passwordOnly.user == nil && passwordOnly.password == "pw" && passwordOnly.endpoint == .tcp(host: "::1", port: 7000))
        let unix = try RedisURL("unix:///run/redis/redis.sock?db=3", environment: [:])
        #expect(unix.endpoint == .unix(path: "/run/redis/redis.sock") && unix.database == 3)
        #expect(try RedisURL("redis://h", environment: ["COPILOT_REDIS_PASSWORD": "fromenv"]).password == "fromenv")
    }

    @Test func neverShowsThePassword() throws {
        let url = try RedisURL("redis://alice:hunter2@127.0.0.1:6379/0", environment: [:])
        #expect(url.description == "redis://alice:***@127.0.0.1:6379/0")
        #expect(!"\(try RedisURL("redis://h", environment: ["COPILOT_REDIS_PASSWORD": "hunter2"]))".contains("hunter2"))
        for bad in ["redis://alice:hunter2@host:99999/0", "redis://:hunter2@/0", "http://:hunter2@h", "redis://:hunter2@h/x"] {
            do {
                _ = try RedisURL(bad, environment: [:])
                Issue.record("\(bad) parsed")
            } catch {
                #expect(!error.localizedDescription.contains("hunter2"), "\(error.localizedDescription)")
                #expect(error.localizedDescription.contains("invalid cache URL"))
            }
        }
    }
}
