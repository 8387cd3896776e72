import CopilotCore
import CopilotGateway
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Every kind of bad input gets an OpenAI-style error object with its status, and the server
/// keeps serving.
@Suite struct GatewayBadInputTests {
    static let mock = """
        [route]
        max_body_bytes = 2048

        [[route.providers]]
        name = "fake"
        kind = "mock"
        models = ["m"]
        """

    static func settings() throws -> RouteSettings {
        try RouteSettings(configuration: Configuration(text: mock, path: "mock.toml"))
    }

    @Test(arguments: [
        ("{not json", "application/json", 400, "invalid_json"),
        ("[1, 2]", "application/json", 400, "invalid_json"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#, "text/plain", 415, "unsupported_content_type"),
        (#"{"model":"m"}"#, "application/json", 400, "missing_field"),
        (#"{"messages":[{"role":"user","content":"x"}]}"#, "application/json", 400, "missing_field"),
        (#"{"model":"m","messages":[]}"#, "application/json", 400, "missing_field"),
        (#"{"model":"m","stream":"yes","messages":[{"role":"user","content":"x"}]}"#, "application/json", 400, "invalid_json"),
        (#"{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}"#, "application/json", 404, "model_not_found"),
        ("BIG", "application/json", 413, "body_too_large"),
    ])
    func badRequestsGetErrorObjects(body: String, contentType: String, status: Int, code: String) async throws {
        try await GatewayTest.withGateway(try Self.settings()) { client in
            var headers = HTTPFields()
            headers[.contentType] = contentType
            // "BIG": a valid request over the 2048-byte limit.
            let text = body == "BIG" ? #"{"model":"m","messages":[{"role":"user","content":""# + String(repeating: "x", count: 4000) + #""}]}"# : body
            let r = try await GatewayTest.post(client, body: ByteBuffer(string: text), headers: headers)
            #expect(Int(r.status.code) == status)
            #expect(GatewayTest.errorCode(r) == code)
            let ok = try await GatewayTest.post(client)
            #expect(ok.status == .ok, "still serving")
        }
    }

    @Test func unknownTaskAndRoute() async throws {
        try await GatewayTest.withGateway(try Self.settings()) { client in
            var headers = GatewayTest.jsonHeaders
            headers[HTTPField.Name("x-copilot-task")!] = "poetry"
            let task = try await GatewayTest.post(client, headers: headers)
            #expect(task.status == .badRequest && GatewayTest.errorCode(task) == "unknown_task")
            let route = try await client.execute(uri: "/v2/nothing", method: .get)
            #expect(route.status == .notFound && GatewayTest.errorCode(route) == "not_found")
        }
    }

    @Test func bearerTokenIsRequiredWhenSet() async throws {
        try await GatewayTest.withGateway(try Self.settings(), authToken: "tok-123") { client in
            let none = try await GatewayTest.post(client)
            #expect(none.status == .unauthorized && GatewayTest.errorCode(none) == "invalid_api_key")
            var wrong = GatewayTest.jsonHeaders
            wrong[.authorization] = "Bearer tok-124"
            #expect(try await GatewayTest.post(client, headers: wrong).status == .unauthorized)
            var prefix = GatewayTest.jsonHeaders
            prefix[.authorization] = "Bearer tok-12"
            #expect(try await GatewayTest.post(client, headers: prefix).status == .unauthorized)
            var right = GatewayTest.jsonHeaders
            right[.authorization] = "Bearer tok-123"
            #expect(try await GatewayTest.post(client, headers: right).status == .ok)
            #expect(try await client.execute(uri: "/v1/models", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/models", method: .get, headers: right).status == .ok)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok, "health needs no token")
        }
    }

    @Test func modelsHealthAndMetrics() async throws {
        try await GatewayTest.withGateway(try Self.settings()) { client in
            _ = try await GatewayTest.post(client)
            let models = try await client.execute(uri: "/v1/models", method: .get)
            let object = try JSONSerialization.jsonObject(with: Data(models.body.readableBytesView)) as? [String: Any]
            #expect((object?["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["m"])
            let health = try await client.execute(uri: "/health", method: .get)
            let h = try JSONSerialization.jsonObject(with: Data(health.body.readableBytesView)) as? [String: Any]
            #expect(h?["status"] as? String == "ok")
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            for name in ["copilot_requests_total", "copilot_fallbacks_total", "copilot_retries_total", "copilot_breaker_state",
                         "copilot_upstream_latency_seconds_bucket", "copilot_time_to_first_token_seconds_count", "copilot_overhead_seconds_sum"] {
                #expect(metrics.contains(name), "\(name)")
            }
        }
    }
}
