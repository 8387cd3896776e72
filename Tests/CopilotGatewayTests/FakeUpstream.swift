import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// What a fake OpenAI-compatible upstream does with each chat-completions request.
enum FakeBehaviour: Sendable, Equatable {
    /// 200 with a chat completion whose content is `text`.
    case answer(String)
    /// This status with an OpenAI error body, and a `Retry-After` header when given.
    case fail(status: Int, retryAfter: String?)
    /// Never answers (until the test ends).
    case hang
    /// Answers after `ms`.
    case slow(ms: Int)
    /// Streams `words` as SSE chunks, `delayMs` apart (for `stream: true`).
    case stream(words: [String], delayMs: Int)
    /// Sends the stream's head at once, then its first chunk only after `ms`.
    case streamAfter(ms: Int, words: [String])
    /// Streams `chunks` words, then breaks the connection without finishing.
    case dropStream(afterChunks: Int)
    /// 200 with a body that is not JSON.
    case notJSON
}

/// A small OpenAI-compatible server on 127.0.0.1 (a free port) whose behaviour a test sets
/// and changes; it counts the requests it received and remembers the last one's headers.
final class FakeUpstream: Sendable {
    private struct State {
        var behaviour: FakeBehaviour
        var queue: [FakeBehaviour]
        var requests = 0
        var lastAuthorization: String?
        var lastModel: String?
        var lastBody: [UInt8] = []
        var cancelled = 0
        var stopped = false
    }

    private let state: Mutex<State>

    /// Answers the `first` behaviours in turn (one request each), then `behaviour` forever.
    init(_ behaviour: FakeBehaviour, first: [FakeBehaviour] = []) {
        state = Mutex(State(behaviour: behaviour, queue: first))
    }

    /// Changes what later requests get.
    func set(_ behaviour: FakeBehaviour) { state.withLock { $0.behaviour = behaviour } }
    var requests: Int { state.withLock { $0.requests } }
    var lastAuthorization: String? { state.withLock { $0.lastAuthorization } }
    var lastModel: String? { state.withLock { $0.lastModel } }
    /// The last request's body, parsed.
    var lastBody: [String: Any] {
        let bytes = state.withLock { $0.lastBody }
        return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
    }
    /// Streams that stopped because the reader went away.
    var cancelledStreams: Int { state.withLock { $0.cancelled } }

    static func completion(_ text: String, model: String) -> String {
        """
        {"id":"chatcmpl-fake","object":"chat.completion","created":1,"model":"\(model)",\
        "choices":[{"index":0,"message":{"role":"assistant","content":"\(text)"},"finish_reason":"stop"}],\
        "usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}
        """
    }

    static func chunk(_ word: String) -> ByteBuffer {
        ByteBuffer(string: "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\(word)\"},\"finish_reason\":null}]}\n\n")
    }

    private func handle(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        let model = object?["model"] as? String ?? "?"
        let behaviour = state.withLock { s -> FakeBehaviour in
            s.requests += 1
            s.lastAuthorization = request.headers[.authorization]
            s.lastModel = model
            s.lastBody = Array(body.readableBytesView)
            return s.queue.isEmpty ? s.behaviour : s.queue.removeFirst()
        }
        var json = HTTPFields()
        json[.contentType] = "application/json"
        switch behaviour {
        case .answer(let text):
            return Response(status: .ok, headers: json, body: .init(byteBuffer: ByteBuffer(string: Self.completion(text, model: model))))
        case .fail(let status, let retryAfter):
            var headers = json
            if let retryAfter { headers[.retryAfter] = retryAfter }
            let error = #"{"error":{"message":"fake failure","type":"api_error","code":"fake"}}"#
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: error)))
        case .hang:
            // Until the test ends (or the gateway gives up and the handler is cancelled).
            while !state.withLock({ $0.stopped }) { try await Task.sleep(nanoseconds: 10_000_000) }
            return Response(status: .ok)
        case .slow(let ms):
            try await Task.sleep(nanoseconds: UInt64(ms) * 1_000_000)
            return Response(status: .ok, headers: json, body: .init(byteBuffer: ByteBuffer(string: Self.completion("slow", model: model))))
        case .stream(let words, let delayMs):
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            return Response(status: .ok, headers: headers, body: ResponseBody { [self] writer in
                do {
                    for (i, word) in words.enumerated() {
                        if i > 0 { try await Task.sleep(nanoseconds: UInt64(delayMs) * 1_000_000) }
                        try await writer.write(Self.chunk(word))
                    }
                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                    try await writer.finish(nil)
                } catch {
                    state.withLock { $0.cancelled += 1 }
                    throw error
                }
            })
        case .streamAfter(let ms, let words):
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            return Response(status: .ok, headers: headers, body: ResponseBody { [self] writer in
                for _ in 0..<(ms / 10) where !state.withLock({ $0.stopped }) { try await Task.sleep(nanoseconds: 10_000_000) }
                for word in words { try await writer.write(Self.chunk(word)) }
                try await writer.finish(nil)
            })
        case .dropStream(let count):
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                for i in 0..<count { try await writer.write(Self.chunk("w\(i)")) }
                throw CancellationError()  // the server closes the connection mid-body
            })
        case .notJSON:
            var headers = HTTPFields()
            headers[.contentType] = "text/html"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "<html>502 Bad Gateway</html>")))
        }
    }

    /// Runs the fake upstreams, calls `body` with their base URLs, then stops them.
    static func run<T: Sendable>(
        _ upstreams: [FakeUpstream], _ body: @Sendable ([String]) async throws -> T
    ) async throws -> T {
        let ports = Mutex<[Int: Int]>([:])
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        var apps: [Application<RouterResponder<BasicRequestContext>>] = []
        for (i, upstream) in upstreams.enumerated() {
            let router = Router()
            router.post("/v1/chat/completions") { request, _ in try await upstream.handle(request) }
            var logger = Logger(label: "fake-upstream")
            logger.logLevel = .critical
            apps.append(Application(
                router: router,
                server: .http1(),
                configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in
                    ports.withLock { $0[i] = channel.localAddress?.port ?? 0 }
                    continuation.yield()
                }, logger: logger))
        }
        let group = ServiceGroup(services: apps, logger: Logger(label: "fake-upstreams"))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var started = 0
            for await _ in stream {
                started += 1
                if started == upstreams.count { break }
            }
            let urls = ports.withLock { p in (0..<upstreams.count).map { "http://127.0.0.1:\(p[$0] ?? 0)/v1" } }
            defer { for upstream in upstreams { upstream.state.withLock { $0.stopped = true } } }
            do {
                let value = try await body(urls)
                for upstream in upstreams { upstream.state.withLock { $0.stopped = true } }
                await group.triggerGracefulShutdown()
                tasks.cancelAll()
                return value
            } catch {
                for upstream in upstreams { upstream.state.withLock { $0.stopped = true } }
                await group.triggerGracefulShutdown()
                tasks.cancelAll()
                throw error
            }
        }
    }
}
