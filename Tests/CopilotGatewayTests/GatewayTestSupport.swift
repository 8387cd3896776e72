import CopilotCore
import CopilotGateway
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore

enum GatewayTest {
    /// A route configuration over `urls` (one provider per URL, named u0, u1, ... serving "m"),
    /// plus `extra` TOML appended (more providers, tasks, `[route]` keys go before them).
    static func settings(urls: [String], route: String = "", providerKeys: [Int: String] = [:], extra: String = "") throws -> RouteSettings {
        var text = "[route]\nbreaker_cooldown_ms = 60000\nretry_base_ms = 1\nretry_max_ms = 5\n\(route)\n"
        for (i, url) in urls.enumerated() {
            text += "[[route.providers]]\nname = \"u\(i)\"\nbase_url = \"\(url)\"\nmodels = [\"m\"]\n\(providerKeys[i] ?? "")\n"
        }
        text += extra
        return try RouteSettings(configuration: Configuration(text: text, path: "test.toml"))
    }

    /// Runs the gateway on a free loopback port and calls `body` with a test client.
    static func withGateway<T: Sendable>(
        _ settings: RouteSettings, authToken: String? = nil, environment: [String: String] = [:], cache: GatewayCache? = nil,
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        let options = GatewayOptions(host: "127.0.0.1", port: 0, authToken: authToken, environment: environment, logLevel: .critical, cache: cache)
        let (app, _) = buildApplication(settings: settings, selector: HealthWeightedSelector(), options: options)
        return try await app.test(.live, body)
    }

    static func chatBody(model: String = "m", stream: Bool = false, text: String = "hello") -> ByteBuffer {
        ByteBuffer(string: #"{"model":"\#(model)","stream":\#(stream),"messages":[{"role":"user","content":"\#(text)"}]}"#)
    }

    static var jsonHeaders: HTTPFields {
        var h = HTTPFields()
        h[.contentType] = "application/json"
        return h
    }

    static func post(_ client: any TestClientProtocol, body: ByteBuffer = chatBody(), headers: HTTPFields = jsonHeaders) async throws -> TestResponse {
        try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers, body: body)
    }

    /// The OpenAI error object's `code`, or nil when the body is not one.
    static func errorCode(_ response: TestResponse) -> String? {
        let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        let error = object?["error"] as? [String: Any]
        guard error?["message"] is String, error?["type"] is String else { return nil }
        return error?["code"] as? String
    }

    /// Content of a chat completion.
    static func content(_ response: TestResponse) -> String? {
        let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        let choice = (object?["choices"] as? [[String: Any]])?.first
        return (choice?["message"] as? [String: Any])?["content"] as? String
    }

    /// The concatenated `delta.content` of an SSE body, and whether it ended with `[DONE]`.
    static func streamed(_ text: String) -> (content: String, done: Bool, errors: Int) {
        var content = "", done = false, errors = 0
        for line in text.split(separator: "\n") where line.hasPrefix("data: ") {
            let payload = line.dropFirst(6)
            if payload == "[DONE]" {
                done = true
                continue
            }
            let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any]
            if object?["error"] != nil { errors += 1 }
            let delta = ((object?["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])
            content += delta?["content"] as? String ?? ""
        }
        return (content, done, errors)
    }

    static let providerHeader = HTTPField.Name("x-copilot-provider")!
    static let requestIDHeader = HTTPField.Name("x-copilot-request-id")!
    static let overheadHeader = HTTPField.Name("x-copilot-overhead-us")!
}
