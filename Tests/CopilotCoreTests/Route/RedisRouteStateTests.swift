@testable import CopilotCore
import CopilotTestSupport
import Foundation
import Testing

/// Learning shared through a real redis-server: what each gateway adds is summed, never
/// overwritten; each gateway gets the others' tuner observations, not its own back; bad
/// shared state and an unreachable server are clear errors that never show the password.
@Suite(.enabled(if: RedisTestServer.available, "redis-server is not installed (apt-get install redis-server)"))
struct RedisRouteStateTests {
    static func arm(_ task: String, _ provider: String, _ s: Double, _ f: Double) -> LearnedArm {
        LearnedArm(task: task, provider: provider, posterior: QualityPosterior(successes: s, failures: f))
    }

    static func totals(_ arms: [LearnedArm]) -> [String: [Double]] {
        Dictionary(uniqueKeysWithValues: arms.map { ("\($0.task)/\($0.provider)", [$0.posterior.successes, $0.posterior.failures]) })
    }

    static func observation(_ t: Double, _ score: Double) -> TuningObservation {
        TuningObservation(parameters: GenerationParameters(temperature: t, topP: 0.9, maxTokens: 256), score: score)
    }

    @Test func twoGatewaysAddUpTheirEvidenceAndSeeEachOthersObservations() throws {
        let server = try RedisTestServer()
        let url = try RedisURL(server.url)
        let a = RedisRouteState(url: url, namespace: "t:", instance: "a")
        let b = RedisRouteState(url: url, namespace: "t:", instance: "b")
        #expect(try a.load().isEmpty && b.load().isEmpty)
        #expect(try a.loadObservations(tasks: ["code"]).isEmpty)

        // A learns 3 good and 1 bad answer of u0, B 2 good ones; each sends its change.
        let afterA = try a.exchange(arms: [Self.arm("code", "u0", 3, 1)], observations: ["code": [Self.observation(0.2, 0.9)]], tasks: ["code"])
        #expect(Self.totals(afterA.arms) == ["code/u0": [3, 1]])
        #expect(afterA.foreign.isEmpty, "its own observation does not come back")
        let afterB = try b.exchange(arms: [Self.arm("code", "u0", 2, 0), Self.arm("code", "u1", 0, 1)], observations: [:], tasks: ["code"])
        #expect(Self.totals(afterB.arms) == ["code/u0": [5, 1], "code/u1": [0, 1]])
        #expect(afterB.foreign["code"] == [Self.observation(0.2, 0.9)])

        // A moves on from the totals it got (it has not heard of B's yet): one more success
        // and its discount (its 3 + 1 fade to 90%) are its change.
        let next = try a.exchange(arms: [Self.arm("code", "u0", 3 * 0.9 + 1, 1 * 0.9)], observations: [:], tasks: ["code"])
        let u0 = try #require(Self.totals(next.arms)["code/u0"])
        #expect(abs(u0[0] - (3 * 0.9 + 1 + 2)) < 1e-9 && abs(u0[1] - 0.9) < 1e-9)
        #expect(Self.totals(next.arms)["code/u1"] == [0, 1])

        // B sends an observation; A gets it, B does not; a new gateway loads both.
        _ = try b.exchange(arms: afterB.arms, observations: ["code": [Self.observation(0.7, 0.4)]], tasks: ["code"])
        #expect(try a.exchange(arms: next.arms, observations: [:], tasks: ["code"]).foreign["code"] == [Self.observation(0.7, 0.4)])
        #expect(try b.exchange(arms: afterB.arms, observations: [:], tasks: ["code"]).foreign.isEmpty)
        let c = RedisRouteState(url: url, namespace: "t:", instance: "c")
        #expect(try c.loadObservations(tasks: ["code"])["code"] == [Self.observation(0.2, 0.9), Self.observation(0.7, 0.4)])
        #expect(try RedisRouteState(url: url, namespace: "other:").load().isEmpty, "namespaces are apart")

        try c.reset(tasks: ["code"])
        #expect(try c.load().isEmpty && c.loadObservations(tasks: ["code"]).isEmpty)
    }

    @Test func aRestartedRedisTakesTheChangeAgain() throws {
        let server = try RedisTestServer()
        let a = RedisRouteState(url: try RedisURL(server.url), namespace: "t:", instance: "a")
        _ = try a.exchange(arms: [Self.arm("", "u0", 1, 0)], observations: [:], tasks: [])
        server.kill()
        #expect(throws: RouteStateError.self) { try a.exchange(arms: [Self.arm("", "u0", 2, 0)], observations: [:], tasks: []) }
        try server.start()  // empty again: persistence is off
        // The failed exchange sent nothing; the next one sends the change since the last
        // good exchange (1), not everything.
        #expect(Self.totals(try a.exchange(arms: [Self.arm("", "u0", 2, 0)], observations: [:], tasks: []).arms) == ["/u0": [1, 0]])
    }

    @Test func damagedStateAndAWrongPasswordAreClearErrors() throws {
        let server = try RedisTestServer(password: "s3cret-pw")
        let url = try RedisURL(server.url)
        let connection = try RedisConnection(url: url, timeoutMs: 1000)
        _ = try connection.command(["HSET", "t:route:arms", "nonsense", "1"])
        #expect(throws: RouteStateError.damaged(path: url.description, reason: "an unknown posterior field")) {
            try RedisRouteState(url: url, namespace: "t:").load()
        }
        _ = try connection.command(["SET", "u:route:arms", "a string"])
        #expect(throws: RouteStateError.self) { try RedisRouteState(url: url, namespace: "u:").load() }

        let wrong = try RedisURL("redis://:not-the-password@127.0.0.1:\(server.port)/0")
        do {
            _ = try RedisRouteState(url: wrong, namespace: "t:").load()
            Issue.record("a wrong password was accepted")
        } catch {
            let text = error.localizedDescription
            #expect(text.contains("authentication failed") && text.contains("start Redis there"), "\(text)")
            #expect(!text.contains("not-the-password") && !text.contains("s3cret-pw"))
        }
        let closed = try RedisURL("redis://127.0.0.1:\(RedisTestServer.freePort())/0")
        #expect(throws: RouteStateError.self) { try RedisRouteState(url: closed, namespace: "t:", timeoutMs: 500).load() }
    }
}
