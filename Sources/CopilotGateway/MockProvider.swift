import CopilotCore
import Foundation
import NIOCore
import Synchronization

/// The built-in `mock` provider kind: answers a chat completion inside the gateway, as an
/// OpenAI server would (JSON, or SSE chunks one word each), after `mock_delay_ms` (and the
/// same delay between streamed words), failing `mock_failure_rate` of requests with HTTP 500.
/// Its failures are drawn from a generator seeded by `route.seed` and the provider's index.
final class MockProvider: Sendable {
    let settings: ProviderSettings
    private let generator: Mutex<SplitMix64>
    private let counter = Atomic<UInt64>(0)

    init(settings: ProviderSettings, seed: UInt64) {
        self.settings = settings
        generator = Mutex(SplitMix64(seed: seed))
    }

    /// The reply text for a request.
    func replyText(for request: ChatRequest) -> String {
        switch settings.mockMode {
        case .fixed: settings.mockReply
        case .echo: request.lastUserText
        }
    }

    /// Whether this request fails (drawn once per request).
    func drawFailure() -> Bool {
        guard settings.mockFailureRate > 0 else { return false }
        return generator.withLock { $0.nextUnit() } < settings.mockFailureRate
    }

    /// A response id unique within the process.
    func nextID() -> String {
        "chatcmpl-mock-\(counter.wrappingAdd(1, ordering: .relaxed).newValue)"
    }

    /// A whole `chat.completion` object.
    func completion(for request: ChatRequest, model: String) -> ByteBuffer {
        let text = replyText(for: request)
        let promptTokens = max(1, request.original.readableBytes / 4)
        let completionTokens = max(1, text.split(separator: " ").count)
        let json = """
            {"id":"\(nextID())","object":"chat.completion","created":\(Int(Date().timeIntervalSince1970)),"model":\(JSONText.quote(model)),\
            "choices":[{"index":0,"message":{"role":"assistant","content":\(JSONText.quote(text))},"finish_reason":"stop"}],\
            "usage":{"prompt_tokens":\(promptTokens),"completion_tokens":\(completionTokens),"total_tokens":\(promptTokens + completionTokens)}}
            """
        return ByteBuffer(string: json)
    }

    /// The SSE events of a streamed answer: one chunk per word, a final chunk, `[DONE]`.
    func chunks(for request: ChatRequest, model: String) -> [ByteBuffer] {
        let id = nextID()
        let created = Int(Date().timeIntervalSince1970)
        let head = "{\"id\":\"\(id)\",\"object\":\"chat.completion.chunk\",\"created\":\(created),\"model\":\(JSONText.quote(model)),\"choices\":[{\"index\":0,"
        let words = replyText(for: request).split(separator: " ", omittingEmptySubsequences: false)
        var events: [ByteBuffer] = []
        for (i, word) in words.enumerated() {
            let piece = i == 0 ? String(word) : " " + word
            let role = i == 0 ? "\"role\":\"assistant\"," : ""
            events.append(ByteBuffer(string: "data: \(head)\"delta\":{\(role)\"content\":\(JSONText.quote(piece))},\"finish_reason\":null}]}\n\n"))
        }
        events.append(ByteBuffer(string: "data: \(head)\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"))
        events.append(ByteBuffer(string: "data: [DONE]\n\n"))
        return events
    }

    /// The error body of a drawn failure.
    static let failureBody = ByteBuffer(string: #"{"error":{"message":"mock provider failure (mock_failure_rate)","type":"api_error","code":"mock_failure"}}"#)
}
