import AsyncHTTPClient
import CopilotCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Errors of `copilot route ask` and `route stats` talking to a gateway.
package enum GatewayClientError: Error, LocalizedError, Equatable {
    /// The gateway could not be reached.
    case unreachable(url: String, reason: String)
    /// The gateway answered with an error object (or a status without one).
    case failed(status: Int, message: String)
    /// The answer was not what a gateway sends.
    case invalidAnswer(url: String)

    /// The message for this error.
    package var errorDescription: String? {
        switch self {
        case .unreachable(let url, let reason):
            "cannot reach the gateway at \(url) (\(reason)); start it with `copilot route serve` or pass --url"
        case .failed(let status, let message):
            "the gateway answered HTTP \(status): \(message)"
        case .invalidAnswer(let url):
            "\(url) did not answer like a copilot gateway; check --url"
        }
    }
}

/// Splits a `text/event-stream` body into the `content` pieces of OpenAI chat chunks, however
/// the bytes are cut into network reads.
package struct ChatStreamDecoder: Sendable {
    private var pending: [UInt8] = []
    /// Set once `data: [DONE]` has been seen.
    package private(set) var done = false
    /// The message of an `error` event, if one came.
    package private(set) var errorMessage: String?

    /// Creates an empty decoder.
    package init() {}

    /// Feeds bytes; returns the content pieces of every event completed by them.
    package mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [String] where Bytes.Element == UInt8 {
        pending.append(contentsOf: bytes)
        var pieces: [String] = []
        while let end = Self.eventEnd(in: pending) {
            let event = String(decoding: pending[..<end.start], as: UTF8.self)
            pending.removeSubrange(..<end.next)
            for line in event.split(separator: "\n") where line.hasPrefix("data:") {
                let payload = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
                if payload == "[DONE]" {
                    done = true
                    continue
                }
                guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { continue }
                if let error = object["error"] as? [String: Any] {
                    errorMessage = error["message"] as? String ?? "error"
                    continue
                }
                let delta = (object["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]
                if let content = delta?["content"] as? String, !content.isEmpty { pieces.append(content) }
            }
        }
        return pieces
    }

    private static func eventEnd(in bytes: [UInt8]) -> (start: Int, next: Int)? {
        guard bytes.count >= 2 else { return nil }
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0A && bytes[i + 1] == 0x0A { return (i, i + 2) }
            if i + 3 < bytes.count && bytes[i] == 0x0D && bytes[i + 1] == 0x0A && bytes[i + 2] == 0x0D && bytes[i + 3] == 0x0A { return (i, i + 4) }
            i += 1
        }
        return nil
    }
}

/// A client of a running gateway (`route ask`, `route stats`).
package final class GatewayClient: Sendable {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    package let baseURL: String
    private let token: String?
    private let client: HTTPClient

    /// A client of the gateway at `baseURL`, sending `token` as a bearer token when given.
    package init(baseURL: String, token: String? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton))
    }

    /// Closes the connections.
    package func shutdown() async throws { try await client.shutdown() }

    /// `GET /health` as raw JSON text.
    package func health() async throws -> String {
        let (status, body) = try await get("/health")
        guard status == 200 || status == 503 else { throw GatewayClientError.failed(status: status, message: Self.message(body)) }
        return body
    }

    /// The first model `GET /v1/models` lists.
    package func firstModel() async throws -> String {
        guard let first = try await models().first else { throw GatewayClientError.invalidAnswer(url: baseURL) }
        return first
    }

    /// Every model `GET /v1/models` lists, in its order.
    package func models() async throws -> [String] {
        let (status, body) = try await get("/v1/models")
        guard status == 200 else { throw GatewayClientError.failed(status: status, message: Self.message(body)) }
        let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        guard let data = object?["data"] as? [[String: Any]] else { throw GatewayClientError.invalidAnswer(url: baseURL) }
        return data.compactMap { $0["id"] as? String }
    }

    /// A request to `path` carrying the bearer token; a POST of `json` when given.
    private func request(_ path: String, json: String? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        if let token { request.headers.add(name: "authorization", value: "Bearer " + token) }
        if let json {
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        return request
    }

    /// A one-message chat-completions request for `prompt`.
    private func chatRequest(prompt: String, model: String, task: String?, stream: Bool) -> HTTPClientRequest {
        let body = "{\"model\":\(JSONText.quote(model)),\"stream\":\(stream),\"messages\":[{\"role\":\"user\",\"content\":\(JSONText.quote(prompt))}]}"
        var request = request("/v1/chat/completions", json: body)
        if let task { request.headers.add(name: "x-copilot-task", value: task) }
        return request
    }

    /// Sends `request` and collects its whole answer (up to `limit` bytes) within `timeoutMs`.
    /// Not getting one is ``GatewayClientError/unreachable(url:reason:)``; with
    /// `timeoutIsAnAnswer`, the deadline passing is a 504 that names `timeoutMs` instead.
    private func send(_ request: HTTPClientRequest, timeoutMs: Int, timeoutIsAnAnswer: Bool = false, upTo limit: Int) async throws -> (
        status: Int, headers: HTTPHeaders, body: String
    ) {
        do {
            let response = try await client.execute(request, deadline: .now() + .milliseconds(Int64(timeoutMs)))
            return (Int(response.status.code), response.headers, String(buffer: try await response.body.collect(upTo: limit)))
        } catch let error as HTTPClientError where timeoutIsAnAnswer && (error == .deadlineExceeded || error == .readTimeout) {
            throw GatewayClientError.failed(status: 504, message: "no answer within \(timeoutMs) ms")
        } catch {
            throw GatewayClientError.unreachable(url: baseURL, reason: UpstreamCaller.describe(error))
        }
    }

    /// Streams one chat completion of `prompt`, calling `onText` with each piece as it arrives.
    /// Returns the provider that answered.
    package func ask(prompt: String, model: String, task: String?, onText: (String) throws -> Void) async throws -> String {
        let request = chatRequest(prompt: prompt, model: model, task: task, stream: true)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(600))
        } catch {
            throw GatewayClientError.unreachable(url: baseURL, reason: UpstreamCaller.describe(error))
        }
        guard response.status.code == 200 else {
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            throw GatewayClientError.failed(status: Int(response.status.code), message: Self.message(text))
        }
        var decoder = ChatStreamDecoder()
        for try await chunk in response.body {
            for piece in decoder.feed(chunk.readableBytesView) { try onText(piece) }
        }
        if let error = decoder.errorMessage { throw GatewayClientError.failed(status: 200, message: error) }
        return response.headers.first(name: "x-copilot-provider") ?? "?"
    }

    /// One non-streamed answer: its text, the provider that gave it and the token counts
    /// the provider reported.
    package struct Completion: Sendable, Equatable {
        /// The answer's content.
        package var text: String
        /// `x-copilot-provider`.
        package var provider: String
        /// `usage.prompt_tokens`, when given.
        package var promptTokens: Int?
        /// `usage.completion_tokens`, when given.
        package var completionTokens: Int?
    }

    /// Asks `prompt` of `model` without streaming, giving up after `timeoutMs`.
    package func complete(prompt: String, model: String, task: String?, timeoutMs: Int) async throws -> Completion {
        let (status, headers, text) = try await send(
            chatRequest(prompt: prompt, model: model, task: task, stream: false), timeoutMs: timeoutMs, timeoutIsAnAnswer: true, upTo: 64 << 20)
        let provider = headers.first(name: "x-copilot-provider") ?? "?"
        guard status == 200 else { throw GatewayClientError.failed(status: status, message: Self.message(text)) }
        let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let message = ((object?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])
        guard let content = message?["content"] as? String else { throw GatewayClientError.invalidAnswer(url: baseURL) }
        let usage = object?["usage"] as? [String: Any]
        return Completion(
            text: content, provider: provider, promptTokens: (usage?["prompt_tokens"] as? NSNumber)?.intValue,
            completionTokens: (usage?["completion_tokens"] as? NSNumber)?.intValue)
    }

    /// `POST /v1/feedback`: scores answer `requestID` (0...1); the gateway's JSON answer.
    package func feedback(requestID: String, score: Double) async throws -> String {
        let json = "{\"request_id\":\(JSONText.quote(requestID)),\"score\":\(score)}"
        let (status, _, body) = try await send(request("/v1/feedback", json: json), timeoutMs: 30_000, upTo: 1 << 20)
        guard status == 200 else { throw GatewayClientError.failed(status: status, message: Self.message(body)) }
        return body
    }

    private func get(_ path: String) async throws -> (Int, String) {
        let (status, _, body) = try await send(request(path), timeoutMs: 30_000, upTo: 16 << 20)
        return (status, body)
    }

    static func message(_ body: String) -> String {
        let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return (object?["error"] as? [String: Any])?["message"] as? String ?? String(body.prefix(200))
    }
}

/// `route stats` as text: one line per provider from a `/health` document.
package enum GatewayStatsFormatter {
    /// The plain table; `nil` when `json` is not a health document.
    package static func plain(_ json: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let providers = object["providers"] as? [[String: Any]]
        else { return nil }
        func ms(_ key: String, _ p: [String: Any]) -> String {
            (p[key] as? Double).map { String(format: "%.1f", $0) } ?? "-"
        }
        var text = "status: \(object["status"] as? String ?? "?")"
        if let requests = object["requests"] as? [String: Any], !requests.isEmpty {
            text += "  requests: " + requests.keys.sorted().map { "\($0)=\(requests[$0] ?? 0)" }.joined(separator: " ")
        }
        text += "\nprovider\tbreaker\tin_flight\trequests\terrors\tsuccess\tlatency_p50_ms\tlatency_p99_ms\tttft_p50_ms\tttft_p95_ms\n"
        for p in providers {
            let success = (p["success_rate"] as? Double).map { String(format: "%.3f", $0) } ?? "-"
            text += "\(p["name"] as? String ?? "?")\t\(p["breaker"] as? String ?? "?")\t\(p["in_flight"] ?? 0)\t\(p["requests"] ?? 0)\t\(p["errors"] ?? 0)\t\(success)\t"
            text += "\(ms("latency_p50_ms", p))\t\(ms("latency_p99_ms", p))\t\(ms("ttft_p50_ms", p))\t\(ms("ttft_p95_ms", p))\n"
        }
        if let arms = object["learning"] as? [[String: Any]] {
            // What Thompson sampling believes: each task's providers, best posterior mean first.
            text += "\nlearned (task, provider, posterior mean quality, evidence)\n"
            if arms.isEmpty { text += "(nothing yet: score answers with POST /v1/feedback or copilot route feedback)\n" }
            let sorted = arms.sorted {
                let (a, b) = ($0["task"] as? String ?? "", $1["task"] as? String ?? "")
                return a != b ? a < b : ($0["mean"] as? Double ?? 0) > ($1["mean"] as? Double ?? 0)
            }
            for arm in sorted {
                let task = arm["task"] as? String ?? ""
                text += "\(task.isEmpty ? "(no task)" : task)\t\(arm["provider"] as? String ?? "?")\t"
                text += String(format: "%.3f\t%.1f\n", arm["mean"] as? Double ?? 0, arm["evidence"] as? Double ?? 0)
            }
        }
        if let tasks = object["tuning"] as? [[String: Any]] {
            // What each task's tuner sends now, and the best parameters it has seen.
            text += "\ntuned parameters (task, mode, observations, now sent, best so far)\n"
            func describe(_ p: [String: Any]?) -> String {
                guard let p, let t = p["temperature"] as? Double, let top = p["top_p"] as? Double, let m = p["max_tokens"] as? Int else { return "-" }
                var s = String(format: "temperature %.3g top_p %.3g max_tokens %d", t, top, m)
                if let score = p["predicted_score"] as? Double { s += String(format: " (predicted %.3f)", score) }
                return s
            }
            for t in tasks {
                let current = t["current"] as? [String: Any]
                text += "\(t["task"] as? String ?? "?")\t\(t["mode"] as? String ?? "?")\t\(t["observations"] as? Int ?? 0)\t"
                text += (current == nil ? "(the client's own: no score yet)" : describe(current)) + "\t" + describe(t["best"] as? [String: Any]) + "\n"
            }
        }
        return text
    }
}
