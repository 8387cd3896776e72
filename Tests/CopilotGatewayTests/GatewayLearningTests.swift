import CopilotCore
@testable import CopilotGateway
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Feedback on a learning gateway: scores reach the posterior of the provider that answered,
/// bad feedback gets an OpenAI-style error, and what was learned survives a restart.
@Suite struct GatewayLearningTests {
    static func feedback(_ client: any TestClientProtocol, _ json: String) async throws -> TestResponse {
        try await client.execute(uri: "/v1/feedback", method: .post, headers: GatewayTest.jsonHeaders, body: ByteBuffer(string: json))
    }

    static func learned(_ client: any TestClientProtocol) async throws -> [[String: Any]] {
        let health = try await client.execute(uri: "/health", method: .get)
        let object = try JSONSerialization.jsonObject(with: Data(health.body.readableBytesView)) as? [String: Any]
        return object?["learning"] as? [[String: Any]] ?? []
    }

    @Test func scoresReachTheAnsweringProviderAndSurviveARestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-learn-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state.sqlite").path
        let up = FakeUpstream(.answer("ok"))
        try await FakeUpstream.run([up]) { urls in
            let settings = try GatewayTest.settings(urls: urls, extra: """
                [[route.tasks]]
                name = "code"
                """)
            var options = GatewayOptions(host: "127.0.0.1", port: 0, environment: [:], logLevel: .critical)
            options.learningStore = try RouteStateStore(path: path)
            options.learningSaveSeconds = 0.05
            let (app, _) = buildApplication(settings: settings, selector: ThompsonSelector(settings: settings), options: options)
            try await app.test(.live) { client in
                var headers = GatewayTest.jsonHeaders
                headers[HTTPField.Name("x-copilot-task")!] = "code"
                let answer = try await GatewayTest.post(client, headers: headers)
                #expect(answer.status == .ok)
                let id = try #require(answer.headers[GatewayTest.requestIDHeader])
                let ok = try await Self.feedback(client, #"{"request_id":"\#(id)","score":1}"#)
                #expect(ok.status == .ok)
                let object = try JSONSerialization.jsonObject(with: Data(ok.body.readableBytesView)) as? [String: Any]
                #expect(object?["provider"] as? String == "u0" && object?["task"] as? String == "code")
                let mean = (object?["posterior"] as? [String: Any])?["mean"] as? Double ?? 0
                #expect(mean > 0.6, "a success and a perfect score move the posterior up")

                #expect(GatewayTest.errorCode(try await Self.feedback(client, #"{"request_id":"\#(id)","score":0}"#)) == "already_scored")
                let unknown = try await Self.feedback(client, #"{"request_id":"req-nope","score":0.5}"#)
                #expect(unknown.status == .notFound && GatewayTest.errorCode(unknown) == "unknown_request_id")
                for bad in [#"{"request_id":"x","score":1.5}"#, #"{"request_id":"x","score":"high"}"#, #"{"request_id":"x","score":-0.1}"#] {
                    let r = try await Self.feedback(client, bad)
                    #expect(r.status == .badRequest && GatewayTest.errorCode(r) == "invalid_score", "\(bad)")
                }
                #expect(GatewayTest.errorCode(try await Self.feedback(client, #"{"score":1}"#)) == "missing_field")
                #expect(GatewayTest.errorCode(try await Self.feedback(client, "not json")) == "invalid_json")

                let arms = try await Self.learned(client)
                #expect(arms.contains { $0["task"] as? String == "code" && $0["provider"] as? String == "u0" })
                // Still serving after bad feedback.
                #expect(try await GatewayTest.post(client).status == .ok)
            }
            // Stopped: the last save ran. A new gateway starts from it.
            let saved = try RouteStateStore(path: path).load()
            let arm = try #require(saved.first { $0.task == "code" && $0.provider == "u0" })
            #expect(arm.posterior.successes > 1, "the score (1) and the outcome were saved")
            let restored = try GatewayServer.restoring(ThompsonSelector(settings: settings), from: RouteStateStore(path: path))
            #expect(restored.learnedArms.contains(arm))
        }
    }

    @Test func aGatewayThatLearnsNothingRefusesFeedback() async throws {
        let up = FakeUpstream(.answer("ok"))
        try await FakeUpstream.run([up]) { urls in
            try await GatewayTest.withGateway(try GatewayTest.settings(urls: urls, route: #"policy = "health""#)) { client in
                let answer = try await GatewayTest.post(client)
                let id = answer.headers[GatewayTest.requestIDHeader] ?? ""
                let r = try await Self.feedback(client, #"{"request_id":"\#(id)","score":1}"#)
                #expect(r.status == .conflict && GatewayTest.errorCode(r) == "learning_off")
            }
        }
    }
}
