import Foundation

/// The canonical cache key of an OpenAI chat-completion request, shared by `copilot cache key`
/// and the gateway: the fields that decide the answer, in canonical JSON (keys sorted, no
/// whitespace, numbers in one spelling: `0`, `0.0` and `0e0` agree), hashed with SHA-256.
///
/// Fields that do not change the answer (`stream`, `stream_options`, `user`, `metadata`,
/// `store`) are left out, so a streamed and a plain request share an entry.
public enum CacheKey {
    /// The request fields that make up the key.
    public static let fields = [
        "model", "messages", "tools", "tool_choice", "functions", "function_call", "parallel_tool_calls",
        "temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "response_format",
        "stop", "n", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
        "reasoning_effort",
    ]

    /// `chat:` and the hex SHA-256 of ``canonicalJSON(request:)``.
    public static func key(request: [UInt8]) throws -> String {
        "chat:" + SHA256Digest.hex(Array(try canonicalJSON(request: request).utf8))
    }

    /// The canonical JSON of the request's key fields.
    public static func canonicalJSON(request: [UInt8]) throws -> String {
        let value: RequestJSON
        do {
            value = try JSONDecoder().decode(RequestJSON.self, from: Data(request))
        } catch {
            throw CacheError.invalidRequest(reason: "the body is not valid JSON")
        }
        guard case .object(let object) = value else { throw CacheError.invalidRequest(reason: "the body is not a JSON object") }
        guard case .string(let model)? = object["model"], !model.isEmpty else {
            throw CacheError.invalidRequest(reason: "\"model\" is missing or not a string")
        }
        guard case .array(let messages)? = object["messages"], !messages.isEmpty else {
            throw CacheError.invalidRequest(reason: "\"messages\" is missing, empty or not an array")
        }
        var kept: [String: RequestJSON] = [:]
        for f in fields { if let v = object[f], v != .null { kept[f] = v } }
        return RequestJSON.object(kept).canonical
    }
}

/// A parsed JSON value (numbers kept as doubles, with integers up to 2^53 exact).
package enum RequestJSON: Decodable, Equatable, Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// Any number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([RequestJSON])
    /// An object.
    case object([String: RequestJSON])

    /// Decodes any JSON value.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([RequestJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: RequestJSON].self)) }
    }

    /// Sorted keys, no whitespace, integral numbers without a fraction, others in Swift's
    /// shortest round-trip form.
    package var canonical: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d):
            if d == d.rounded(), abs(d) < 9.007_199_254_740_992e15 { return String(Int64(d)) }
            return "\(d)"
        case .string(let s): return JSONText.quote(s)
        case .array(let a): return "[" + a.map(\.canonical).joined(separator: ",") + "]"
        case .object(let o):
            let keys = o.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            return "{" + keys.map { JSONText.quote($0) + ":" + o[$0]!.canonical }.joined(separator: ",") + "}"
        }
    }
}
