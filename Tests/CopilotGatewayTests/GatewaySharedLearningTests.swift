import CopilotCore
@testable import CopilotGateway
import CopilotTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Two gateways sharing one Redis (`[route] state = "redis"`): scores given to one reach the
/// other's posteriors and tuner, and each keeps its own.
@Suite(.enabled(if: RedisTestServer.available, "redis-server is not installed (apt-get install redis-server)"))
struct GatewaySharedLearningTests {
    static func evidence(_ client: any TestClientProtocol, task: String, provider: String) async throws -> Double {
        let arm = try await GatewayLearningTests.learned(client).first { $0["task"] as? String == task && $0["provider"] as? String == provider }
        return arm?["evidence"] as? Double ?? 0
    }

    /// Polls (bounded) until `condition` holds; the gateways exchange every 50 ms.
    static func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<500 {
            if try await condition() { return }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        Issue.record("\(what) did not happen within 10 s")
    }

    @Test func scoresGivenToOneGatewayReachTheOther() async throws {
        let server = try RedisTestServer()
        let up = FakeUpstream(.answer("ok"))
        try await FakeUpstream.run([up]) { urls in
            let settings = try GatewayTest.settings(urls: urls, extra: GatewayTuningTests.tasks)
            func options(_ name: String) throws -> GatewayOptions {
                var o = GatewayOptions(host: "127.0.0.1", port: 0, environment: [:], logLevel: .critical)
                o.sharedLearning = RedisRouteState(url: try RedisURL(server.url), namespace: "test:", instance: name)
                o.learningSaveSeconds = 0.05
                return o
            }
            let (first, _) = buildApplication(settings: settings, selector: ThompsonSelector(settings: settings), options: try options("a"))
            let (second, _) = buildApplication(settings: settings, selector: ThompsonSelector(settings: settings), options: try options("b"))
            try await first.test(.live) { a in
                try await second.test(.live) { b in
                    #expect(try await Self.evidence(b, task: "code", provider: "u0") == 0)
                    // Three perfect scores on A (with the answers' own outcomes).
                    for _ in 0..<3 { _ = try await GatewayTuningTests.score(a, try await GatewayTuningTests.ask(a, task: "code"), 1) }
                    let onA = try await Self.evidence(a, task: "code", provider: "u0")
                    #expect(onA >= 3)
                    try await Self.eventually("A's evidence reaching B") {
                        abs(try await Self.evidence(b, task: "code", provider: "u0") - onA) < 0.05
                    }
                    // B's own score adds to it, on both.
                    _ = try await GatewayTuningTests.score(b, try await GatewayTuningTests.ask(b, task: "code"), 0)
                    try await Self.eventually("B's score reaching A") {
                        try await Self.evidence(a, task: "code", provider: "u0") > onA + 0.5
                    }
                    // A tuned answer scored on A is an observation of B's tuner too.
                    _ = try await GatewayTuningTests.waitForSuggestion(a, task: "code")
                    _ = try await GatewayTuningTests.score(a, try await GatewayTuningTests.ask(a, task: "code"), 0.7)
                    try await Self.eventually("A's tuner observation reaching B") {
                        (try await GatewayTuningTests.tuning(b)["code"]?["observations"] as? Int ?? 0) >= 1
                    }
                }
            }
        }
    }
}
