import AsyncHTTPClient
import CopilotCore
import Foundation
import NIOCore
import NIOHTTP1

/// The body of an upstream answer still to be read: from an HTTP connection, or from a
/// `mock` provider's prepared chunks.
struct UpstreamBody: @unchecked Sendable {
    // @unchecked: AsyncHTTPClient's iterator is not Sendable, but only one task reads it at a
    // time: the attempt task hands it over when it finishes, then the responder reads on.
    private enum Source {
        case http(HTTPClientResponse.Body.AsyncIterator)
        case pooled(AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator)
        case chunks([ByteBuffer], next: Int, delayNs: UInt64)
    }

    private var source: Source

    init(http iterator: HTTPClientResponse.Body.AsyncIterator) { source = .http(iterator) }
    init(pooled stream: AsyncThrowingStream<ByteBuffer, any Error>) { source = .pooled(stream.makeAsyncIterator()) }
    init(chunks: [ByteBuffer], delayNs: UInt64) { source = .chunks(chunks, next: 0, delayNs: delayNs) }

    /// The next piece, `nil` at the end; throws when the connection fails mid-body.
    mutating func next() async throws -> ByteBuffer? {
        switch source {
        case .http(var iterator):
            let chunk = try await iterator.next()
            source = .http(iterator)
            return chunk
        case .pooled(var iterator):
            let chunk = try await iterator.next()
            source = .pooled(iterator)
            return chunk
        case .chunks(let chunks, let next, let delayNs):
            guard next < chunks.count else { return nil }
            if next > 0 && delayNs > 0 { try await Task.sleep(nanoseconds: delayNs) }
            source = .chunks(chunks, next: next + 1, delayNs: delayNs)
            return chunks[next]
        }
    }

    /// Reads everything that is left, up to `limit` bytes.
    mutating func collect(limit: Int) async throws -> ByteBuffer {
        var all: ByteBuffer?
        while var chunk = try await next() {
            guard (all?.readableBytes ?? 0) + chunk.readableBytes <= limit else { throw UpstreamFailure(.invalidResponse, "answer over \(limit) bytes") }
            if all == nil { all = chunk } else { all!.writeBuffer(&chunk) }  // one chunk (the usual case): no copy
        }
        return all ?? ByteBuffer()
    }
}

/// An attempt that failed, with what to tell the client (never a key or a header value).
struct UpstreamFailure: Error, Sendable {
    var kind: AttemptFailure
    var detail: String
    /// The upstream's own body for a 4xx, passed on when it is JSON.
    var body: ByteBuffer?

    init(_ kind: AttemptFailure, _ detail: String, body: ByteBuffer? = nil) {
        self.kind = kind
        self.detail = detail
        self.body = body
    }
}

/// The start of a successful answer: the status line and headers have arrived (and, for a
/// stream, the first chunk).
struct UpstreamAnswer: Sendable {
    var firstChunk: ByteBuffer?
    var body: UpstreamBody
}

/// Calls one provider: an HTTP POST to `{base_url}/chat/completions` through the shared
/// AsyncHTTPClient (pooled keep-alive connections on the server's event loops), or a `mock`
/// answer. For a stream the time-to-first-token timeout covers the status line and the first
/// chunk; the attempt deadline (`timeout_ms`, within the request's) covers the whole answer.
struct UpstreamCaller: Sendable {
    let client: HTTPClient
    let provider: ProviderSettings
    let url: String
    /// `Bearer <key>` when `api_key_env` is set (never logged or shown).
    let authorization: String?
    let mock: MockProvider?
    /// The pooled plain-HTTP path for non-streamed requests (`nil` for https and mock).
    let pool: UpstreamConnectionPool?
    /// Path of `{base_url}/chat/completions` on the provider's host.
    let path: String
    /// The pooled request heads, as bytes built once, with the request's own headers
    /// (`accept`, `authorization`): for a JSON answer and for a stream (nil with no pool).
    private let jsonHead: UpstreamRequestHead?
    private let streamHead: UpstreamRequestHead?

    init(
        client: HTTPClient, provider: ProviderSettings, url: String, authorization: String?, mock: MockProvider?, pool: UpstreamConnectionPool?,
        path: String
    ) {
        self.client = client
        self.provider = provider
        self.url = url
        self.authorization = authorization
        self.mock = mock
        self.pool = pool
        self.path = path
        let auth = authorization.map { [("authorization", $0)] } ?? []
        jsonHead = pool?.requestHead(path: path, headers: [("accept", "application/json")] + auth)
        streamHead = pool?.requestHead(path: path, headers: [("accept", "text/event-stream")] + auth)
    }

    /// Whether ``completion(body:deadlineNs:on:cancellation:)`` can make its calls (a plain-HTTP provider).
    var answersOnEventLoop: Bool { pool != nil && mock == nil }

    /// A whole, non-streamed JSON answer through the pool, without a task: completed on
    /// `eventLoop`, the answer's bytes as they came. Fails with ``UpstreamFailure`` (the same
    /// failures as ``open(body:request:upstreamModel:deadlineNs:)`` and
    /// ``ChatCompletions/collectJSON(_:provider:)``), or with `CancellationError` once
    /// `cancellation` is cancelled. Only for a caller that ``answersOnEventLoop``.
    func completion(body: ByteBuffer, deadlineNs: UInt64, on eventLoop: any EventLoop, cancellation: ExchangeCancellation) -> EventLoopFuture<ByteBuffer> {
        let name = provider.name
        return postOnLoop(head: jsonHead, body: body, deadlineNs: deadlineNs, firstChunkTimeoutNs: nil, on: eventLoop, cancellation: cancellation)
            .flatMapThrowing { reply in
                if let failure = Self.failure(status: reply.head, body: reply.body, provider: name) { throw failure }
                guard Self.looksLikeJSONObject(reply.body) else {
                    throw UpstreamFailure(.invalidResponse, "\(name) answered something that is not JSON")
                }
                return reply.body
            }
    }

    /// The start of a streamed answer through the pool, without a task: completed on
    /// `eventLoop` at the first chunk (which must come within `ttft_timeout_ms`), the rest to
    /// be read from the ``PooledStream``. Fails as ``completion(body:deadlineNs:on:cancellation:)``
    /// does, and with the failures of a stream's start in
    /// ``open(body:request:upstreamModel:deadlineNs:)``. Only for a caller that ``answersOnEventLoop``.
    func stream(body: ByteBuffer, deadlineNs: UInt64, on eventLoop: any EventLoop, cancellation: ExchangeCancellation) -> EventLoopFuture<
        (first: ByteBuffer, rest: PooledStream)
    > {
        postOnLoop(
            head: streamHead, body: body, deadlineNs: deadlineNs, firstChunkTimeoutNs: UInt64(provider.ttftTimeoutMs) * 1_000_000, on: eventLoop,
            cancellation: cancellation
        )
        .flatMapThrowing { reply in try streamStart(reply) }
    }

    /// One pooled exchange with `head` (``jsonHead`` or ``streamHead``) within the attempt's
    /// deadline (`timeout_ms`, within the request's `deadlineNs`), its reply on `eventLoop`.
    private func postOnLoop(
        head: UpstreamRequestHead?, body: ByteBuffer, deadlineNs: UInt64, firstChunkTimeoutNs: UInt64?, on eventLoop: any EventLoop,
        cancellation: ExchangeCancellation
    ) -> EventLoopFuture<UpstreamReply> {
        guard let pool, let head, mock == nil else {
            return eventLoop.makeFailedFuture(UpstreamFailure(.connection, "\(provider.name) is not a plain-HTTP provider"))
        }
        let now = monotonicNanoseconds()
        let attemptEnd = min(deadlineNs, now &+ UInt64(provider.timeoutMs) * 1_000_000)
        guard attemptEnd > now else { return eventLoop.makeFailedFuture(UpstreamFailure(.timeout, "deadline passed")) }
        return pool.post(
            head: head, body: body, timeoutNs: attemptEnd - now, firstChunkTimeoutNs: firstChunkTimeoutNs, provider: provider.name, on: eventLoop,
            cancellation: cancellation
        )
        .hop(to: eventLoop)
    }

    /// A cheap check that an answer is a JSON object: first and last non-blank bytes are braces
    /// (a full parse would cost more than the rest of the gateway's work).
    static func looksLikeJSONObject(_ buffer: ByteBuffer) -> Bool {
        let view = buffer.readableBytesView
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard let first = view.first(where: { !blank($0) }), let last = view.last(where: { !blank($0) }) else { return false }
        return first == UInt8(ascii: "{") && last == UInt8(ascii: "}")
    }

    /// The failure a non-2xx answer is, or nil for a 2xx.
    private static func failure(status head: HTTPResponseHead, body: ByteBuffer, provider: String) -> UpstreamFailure? {
        let status = Int(head.status.code)
        guard !(200..<300).contains(status) else { return nil }
        let failure = AttemptFailure.forStatus(status, retryAfter: head.headers.first(name: "retry-after"))
        return UpstreamFailure(failure, "\(provider) answered HTTP \(status)", body: body)
    }

    /// Starts the attempt and returns once the answer has started; throws ``UpstreamFailure``.
    func open(body: ByteBuffer, request: ChatRequest, upstreamModel: String, deadlineNs: UInt64) async throws -> UpstreamAnswer {
        let now = monotonicNanoseconds()
        let attemptEnd = min(deadlineNs, now &+ UInt64(provider.timeoutMs) * 1_000_000)
        guard attemptEnd > now else { throw UpstreamFailure(.timeout, "deadline passed") }
        let remainingNs = attemptEnd - now
        let open: @Sendable () async throws -> UpstreamAnswer = {
            if let mock {
                return try await openMock(mock, request: request, model: upstreamModel)
            }
            return try await openHTTP(body: body, stream: request.stream, deadline: .now() + .nanoseconds(Int64(remainingNs)))
        }
        // A non-streamed answer's first byte is its last (servers send the head when the
        // completion is done), so only `timeout_ms` bounds it; `ttft_timeout_ms` applies to
        // streams, which answer their head at once and then the first token.
        guard request.stream else { return try await open() }
        if mock == nil, let pool {
            // The pool's handler times the first chunk itself: no task group, no timer task.
            return try await openPooled(
                pool, body: body, timeoutNs: remainingNs, firstChunkTimeoutNs: UInt64(provider.ttftTimeoutMs) * 1_000_000)
        }
        return try await withFirstByteTimeout(min(UInt64(provider.ttftTimeoutMs) * 1_000_000, remainingNs), open)
    }

    private func openHTTP(body: ByteBuffer, stream: Bool, deadline: NIODeadline) async throws -> UpstreamAnswer {
        if !stream, let pool {
            let remaining = deadline - .now()
            guard remaining > .zero else { throw UpstreamFailure(.timeout, "deadline passed") }
            return try await openPooled(pool, body: body, timeoutNs: UInt64(remaining.nanoseconds), firstChunkTimeoutNs: nil)
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: stream ? "text/event-stream" : "application/json")
        if let authorization { request.headers.add(name: "authorization", value: authorization) }
        request.body = .bytes(body)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: deadline)
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw UpstreamFailure(.timeout, "no answer from \(provider.name) within timeout_ms")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw UpstreamFailure(.connection, "cannot reach \(provider.name) (\(Self.describe(error)))")
        }
        var iterator = response.body.makeAsyncIterator()
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            var errorBody = UpstreamBody(http: iterator)
            let bodyBytes = try? await errorBody.collect(limit: 64 << 10)
            let failure = AttemptFailure.forStatus(status, retryAfter: response.headers.first(name: "retry-after"))
            throw UpstreamFailure(failure, "\(provider.name) answered HTTP \(status)", body: bodyBytes)
        }
        guard stream else { return UpstreamAnswer(firstChunk: nil, body: UpstreamBody(http: iterator)) }
        let first: ByteBuffer?
        do {
            first = try await iterator.next()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw UpstreamFailure(.connection, "\(provider.name) closed the stream before its first chunk")
        }
        guard let first else { throw UpstreamFailure(.invalidResponse, "\(provider.name) sent an empty stream") }
        return UpstreamAnswer(firstChunk: first, body: UpstreamBody(http: iterator))
    }

    private func openPooled(_ pool: UpstreamConnectionPool, body: ByteBuffer, timeoutNs: UInt64, firstChunkTimeoutNs: UInt64?) async throws -> UpstreamAnswer {
        guard let head = firstChunkTimeoutNs == nil ? jsonHead : streamHead else {
            throw UpstreamFailure(.connection, "\(provider.name) is not a plain-HTTP provider")
        }
        let reply = try await pool.post(
            head: head, body: body, timeoutNs: timeoutNs, firstChunkTimeoutNs: firstChunkTimeoutNs, provider: provider.name)
        guard firstChunkTimeoutNs != nil else {
            if let failure = Self.failure(status: reply.head, body: reply.body, provider: provider.name) { throw failure }
            return UpstreamAnswer(firstChunk: nil, body: UpstreamBody(chunks: [reply.body], delayNs: 0))
        }
        let (first, rest) = try streamStart(reply)
        return UpstreamAnswer(firstChunk: first, body: UpstreamBody(pooled: rest.asyncStream()))
    }

    /// A stream's first chunk and the rest, or the failure its answer is.
    private func streamStart(_ reply: UpstreamReply) throws -> (first: ByteBuffer, rest: PooledStream) {
        if let failure = Self.failure(status: reply.head, body: reply.body, provider: provider.name) { throw failure }
        // A 2xx "stream" that ended with no body at all.
        guard let rest = reply.rest else { throw UpstreamFailure(.invalidResponse, "\(provider.name) sent an empty stream") }
        return (reply.body, rest)
    }

    private func openMock(_ mock: MockProvider, request: ChatRequest, model: String) async throws -> UpstreamAnswer {
        let delayNs = UInt64(provider.mockDelayMs) * 1_000_000
        if delayNs > 0 { try await Task.sleep(nanoseconds: delayNs) }
        if mock.drawFailure() {
            throw UpstreamFailure(.serverError(status: 500, retryAfterMs: nil), "\(provider.name) answered HTTP 500 (mock failure)", body: MockProvider.failureBody)
        }
        if request.stream {
            var body = UpstreamBody(chunks: mock.chunks(for: request, model: model), delayNs: delayNs)
            let first = try await body.next()
            return UpstreamAnswer(firstChunk: first, body: body)
        }
        return UpstreamAnswer(firstChunk: nil, body: UpstreamBody(chunks: [mock.completion(for: request, model: model)], delayNs: 0))
    }

    /// Runs `operation`, failing with a timeout when it has not returned after `ns`.
    private func withFirstByteTimeout(_ ns: UInt64, _ operation: @escaping @Sendable () async throws -> UpstreamAnswer) async throws -> UpstreamAnswer {
        try await withThrowingTaskGroup(of: UpstreamAnswer?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(nanoseconds: ns)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            guard let answer = first else {
                throw UpstreamFailure(.timeout, "no first byte from \(provider.name) within ttft_timeout_ms")
            }
            return answer
        }
    }

    /// An error's kind without anything it may carry from the request.
    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError { return "\(e)" }
        if let e = error as? IOError { return "errno \(e.errnoCode)" }
        return String(describing: type(of: error))
    }
}
