import Foundation
import NIOCore

/// The parts of a chat-completions request the gateway needs; the rest of the body is
/// forwarded as it came.
struct ChatRequest: Sendable {
    /// `model`.
    var model: String
    /// `stream`.
    var stream: Bool
    /// The parsed object, kept to rewrite `model` for an alias.
    private let object: SendableJSON
    /// The last user message's text (what a `mock` provider in echo mode repeats).
    var lastUserText: String

    /// Parses and checks a request body.
    init(body: ByteBuffer) throws(GatewayError) {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body.readableBytesView), options: [])
        } catch {
            throw .malformedJSON(reason: "could not parse it")
        }
        guard let object = parsed as? [String: Any] else { throw .malformedJSON(reason: "the top level is not an object") }
        guard let model = object["model"] as? String, !model.isEmpty else { throw .missingField("model") }
        guard let messages = object["messages"] as? [Any] else { throw .missingField("messages") }
        guard !messages.isEmpty else { throw .missingField("messages (at least one message)") }
        var lastUser = ""
        for case let message as [String: Any] in messages {
            if message["role"] as? String == "user" { lastUser = Self.text(of: message["content"]) }
        }
        if let stream = object["stream"], !(stream is NSNull), (stream as? Bool) == nil {
            throw .malformedJSON(reason: "`stream` must be true or false")
        }
        self.model = model
        stream = (object["stream"] as? Bool) ?? false
        lastUserText = lastUser
        self.object = SendableJSON(object)
    }

    /// The body to send upstream asking for `upstreamModel` (the original bytes when unchanged).
    func body(for upstreamModel: String, original: ByteBuffer) -> ByteBuffer {
        guard upstreamModel != model else { return original }
        guard var copy = object.value as? [String: Any] else { return original }
        copy["model"] = upstreamModel
        let data = (try? JSONSerialization.data(withJSONObject: copy)) ?? Data()
        return ByteBuffer(bytes: data)
    }

    private static func text(of content: Any?) -> String {
        if let s = content as? String { return s }
        if let parts = content as? [[String: Any]] {
            return parts.compactMap { $0["text"] as? String }.joined(separator: " ")
        }
        return ""
    }
}

/// A parsed JSON value (only read after parsing; JSONSerialization's output is immutable).
private struct SendableJSON: @unchecked Sendable {
    let value: Any
    init(_ value: Any) { self.value = value }
}
