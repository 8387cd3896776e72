import CopilotCore
import Foundation
import NIOCore

/// The parts of a chat-completions request the gateway needs, found by one validating scan
/// (``ChatRequestScanner``); the body itself is forwarded as it came.
struct ChatRequest: Sendable {
    /// `model`.
    var model: String
    /// `stream`.
    var stream: Bool
    /// `temperature`, `top_p` and `max_tokens` as sent, and where they are in ``original``.
    let sampling: ChatRequestScanner.SamplingFields
    /// `temperature`, when it is a number.
    var temperature: Double? { sampling.temperature }
    /// Byte range of the `model` value in ``original``, to rewrite it for an alias.
    private let modelRange: Range<Int>
    /// The body as received.
    let original: ByteBuffer

    /// Scans and checks a request body.
    init(body: ByteBuffer) throws(GatewayError) {
        let fields: ChatRequestScanner.Fields
        do {
            fields = try ChatRequestScanner.scan(body)
        } catch {
            throw .malformedJSON(reason: "\(error.reason) at byte \(error.offset)")
        }
        guard let model = fields.model, !model.isEmpty, let range = fields.modelRange else {
            throw .missingField(fields.modelNotString ? "model (a string)" : "model")
        }
        guard let count = fields.messageCount, count >= 0 else {
            throw .missingField(fields.messageCount == -1 ? "messages (an array)" : "messages")
        }
        guard count > 0 else { throw .missingField("messages (at least one message)") }
        guard !fields.streamInvalid else { throw .malformedJSON(reason: "`stream` must be true or false") }
        self.model = model
        stream = fields.stream ?? false
        sampling = fields.sampling
        modelRange = range
        original = body
    }

    /// The body to send upstream asking for `upstreamModel`: the original bytes when it is the
    /// model asked for, else the same bytes with only the `model` value replaced.
    func body(for upstreamModel: String) -> ByteBuffer {
        guard upstreamModel != model else { return original }
        var copy = ByteBuffer()
        copy.reserveCapacity(original.readableBytes + upstreamModel.utf8.count)
        let view = original.readableBytesView
        let start = view.startIndex
        copy.writeBytes(view[start..<(start + modelRange.lowerBound)])
        copy.writeString(JSONText.quote(upstreamModel))
        copy.writeBytes(view[(start + modelRange.upperBound)...])
        return copy
    }

    /// The generation parameters the request goes with, when all three are numbers.
    var parameters: GenerationParameters? {
        guard let t = sampling.temperature, let p = sampling.topP, let m = sampling.maxTokens, m.isFinite,
              m == m.rounded(), abs(m) < 1e9 else { return nil }
        return GenerationParameters(temperature: t, topP: p, maxTokens: Int(m))
    }

    /// This request with a tuner's `tuned` parameters written in: those the client left unset
    /// (`.unset`), or all three (`.always`, replacing the client's values); nil when that sets
    /// nothing. The other bytes stay as they came.
    func tuned(_ tuned: GenerationParameters, mode: TuningMode) throws(GatewayError) -> ChatRequest? {
        guard mode != .off else { return nil }
        let values: [(key: String, text: String, range: Range<Int>?)] = [
            ("temperature", "\(tuned.temperature)", sampling.temperatureRange),
            ("top_p", "\(tuned.topP)", sampling.topPRange),
            ("max_tokens", "\(tuned.maxTokens)", sampling.maxTokensRange),
        ]
        var inserted = ""
        var replacements: [(range: Range<Int>, text: String)] = []
        for v in values {
            if let range = v.range {
                if mode == .always { replacements.append((range, v.text)) }
            } else {
                inserted += "\"\(v.key)\":\(v.text),"  // the object has members after it (model, messages)
            }
        }
        guard !inserted.isEmpty || !replacements.isEmpty else { return nil }
        replacements.append((sampling.membersStart..<sampling.membersStart, inserted))
        replacements.sort { $0.range.lowerBound < $1.range.lowerBound }
        var copy = ByteBuffer()
        copy.reserveCapacity(original.readableBytes + 64)
        let view = original.readableBytesView
        var at = 0
        for r in replacements {
            copy.writeBytes(view[(view.startIndex + at)..<(view.startIndex + r.range.lowerBound)])
            copy.writeString(r.text)
            at = r.range.upperBound
        }
        copy.writeBytes(view[(view.startIndex + at)...])
        return try ChatRequest(body: copy)
    }

    /// The last user message's text (what a `mock` provider in echo mode repeats); parsed only
    /// when asked, since no other provider needs it.
    var lastUserText: String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(original.readableBytesView)) as? [String: Any],
              let messages = object["messages"] as? [Any]
        else { return "" }
        var last = ""
        for case let message as [String: Any] in messages where message["role"] as? String == "user" {
            if let s = message["content"] as? String {
                last = s
            } else if let parts = message["content"] as? [[String: Any]] {
                last = parts.compactMap { $0["text"] as? String }.joined(separator: " ")
            }
        }
        return last
    }
}
