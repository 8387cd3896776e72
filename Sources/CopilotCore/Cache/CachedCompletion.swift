import Foundation

/// A chat completion as the gateway caches it: the upstream's JSON answer or its SSE stream,
/// tagged, so that a streamed request can be answered from a plain answer and the other way
/// round (both share one ``CacheKey``, which leaves `stream` out).
package enum CachedCompletion {
    /// The form an entry holds.
    package enum Form: UInt8, Sendable {
        /// A `chat.completion` JSON object.
        case json = 0x4A
        /// The `text/event-stream` bytes of `chat.completion.chunk` events, ending `data: [DONE]`.
        case sse = 0x53
    }

    /// The cache value of an answer in `form`.
    package static func entry(_ bytes: [UInt8], form: Form) -> [UInt8] { [form.rawValue] + bytes }

    /// The form of a cache value, nil when it is not one of ours.
    package static func form(of entry: [UInt8]) -> Form? { entry.first.flatMap(Form.init(rawValue:)) }

    /// The answer as one `chat.completion` JSON object.
    package static func json(from entry: [UInt8]) throws -> [UInt8] {
        switch form(of: entry) {
        case .json: return Array(entry.dropFirst())
        case .sse: return try assemble(sse: Array(entry.dropFirst()))
        case nil: throw CacheError.invalidRequest(reason: "the cached entry is not a chat completion")
        }
    }

    /// The answer as an SSE stream of `chat.completion.chunk` events.
    package static func sse(from entry: [UInt8]) throws -> [UInt8] {
        switch form(of: entry) {
        case .sse: return Array(entry.dropFirst())
        case .json: return try split(json: Array(entry.dropFirst()))
        case nil: throw CacheError.invalidRequest(reason: "the cached entry is not a chat completion")
        }
    }

    private static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let o = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw CacheError.invalidRequest(reason: "the cached answer is not a JSON object")
        }
        return o
    }

    private static func data(_ object: [String: Any]) throws -> [UInt8] {
        Array("data: ".utf8) + [UInt8](try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) + Array("\n\n".utf8)
    }

    /// A completion as the chunks a streaming upstream would have sent: per choice, one chunk
    /// with the whole message as its delta, one with the finish reason; usage on the last.
    static func split(json: [UInt8]) throws -> [UInt8] {
        let completion = try object(json)
        var base: [String: Any] = ["object": "chat.completion.chunk"]
        for field in ["id", "created", "model", "system_fingerprint"] { base[field] = completion[field] }
        let choices = completion["choices"] as? [[String: Any]] ?? []
        var out: [UInt8] = []
        for (position, choice) in choices.enumerated() {
            let index = choice["index"] ?? position
            var delta = choice["message"] as? [String: Any] ?? [:]
            if var calls = delta["tool_calls"] as? [[String: Any]] {
                for i in calls.indices { calls[i]["index"] = i }
                delta["tool_calls"] = calls
            }
            var chunk = base
            chunk["choices"] = [["index": index, "delta": delta, "finish_reason": NSNull()]]
            out += try data(chunk)
            var end = base
            end["choices"] = [["index": index, "delta": [String: Any](), "finish_reason": choice["finish_reason"] ?? NSNull()]]
            if position == choices.count - 1, let usage = completion["usage"] { end["usage"] = usage }
            out += try data(end)
        }
        return out + Array("data: [DONE]\n\n".utf8)
    }

    /// The chunks of a stream folded back into one completion: content and tool-call
    /// arguments concatenated per choice, the last finish reason and usage kept.
    static func assemble(sse: [UInt8]) throws -> [UInt8] {
        var base: [String: Any] = [:]
        var messages: [Int: [String: Any]] = [:]
        var finish: [Int: Any] = [:]
        var calls: [Int: [Int: [String: Any]]] = [:]
        var usage: Any?
        for line in String(decoding: sse, as: UTF8.self).split(whereSeparator: \.isNewline) {
            guard line.hasPrefix("data:") else { continue }
            let payload = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
            if payload == "[DONE]" { break }
            let chunk = try object(Array(payload.utf8))
            for field in ["id", "created", "model", "system_fingerprint"] where base[field] == nil { base[field] = chunk[field] }
            if let u = chunk["usage"], !(u is NSNull) { usage = u }
            for choice in chunk["choices"] as? [[String: Any]] ?? [] {
                let index = (choice["index"] as? Int) ?? 0
                var message = messages[index] ?? ["role": "assistant"]
                if let delta = choice["delta"] as? [String: Any] {
                    if let role = delta["role"] as? String { message["role"] = role }
                    if let text = delta["content"] as? String { message["content"] = ((message["content"] as? String) ?? "") + text }
                    for call in delta["tool_calls"] as? [[String: Any]] ?? [] {
                        let slot = (call["index"] as? Int) ?? 0
                        var merged = calls[index]?[slot] ?? [:]
                        for key in ["id", "type"] where call[key] != nil { merged[key] = call[key] }
                        if let f = call["function"] as? [String: Any] {
                            var function = merged["function"] as? [String: Any] ?? [:]
                            if let name = f["name"] as? String { function["name"] = ((function["name"] as? String) ?? "") + name }
                            if let args = f["arguments"] as? String { function["arguments"] = ((function["arguments"] as? String) ?? "") + args }
                            merged["function"] = function
                        }
                        calls[index, default: [:]][slot] = merged
                    }
                }
                if let reason = choice["finish_reason"], !(reason is NSNull) { finish[index] = reason }
                messages[index] = message
            }
        }
        var completion = base
        completion["object"] = "chat.completion"
        completion["choices"] = messages.keys.sorted().map { index -> [String: Any] in
            var message = messages[index]!
            if message["content"] == nil { message["content"] = NSNull() }
            if let c = calls[index] { message["tool_calls"] = c.keys.sorted().map { c[$0]! } }
            return ["index": index, "message": message, "finish_reason": finish[index] ?? NSNull()]
        }
        if let usage { completion["usage"] = usage }
        return [UInt8](try JSONSerialization.data(withJSONObject: completion, options: [.sortedKeys]))
    }
}
