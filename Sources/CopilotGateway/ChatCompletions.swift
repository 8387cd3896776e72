import CopilotCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Synchronization

/// One reserved attempt on a provider; released exactly once, with its outcome, or as
/// abandoned if nobody reported one (the client went away, the response was dropped).
final class AttemptLease<Selector: ModelSelecting>: Sendable {
    let gateway: Gateway<Selector>
    let provider: Int
    let task: String?
    let startNs: UInt64
    private let done = Atomic<Bool>(false)

    init(gateway: Gateway<Selector>, provider: Int, task: String?, startNs: UInt64) {
        self.gateway = gateway
        self.provider = provider
        self.task = task
        self.startNs = startNs
    }

    /// Reports the outcome (`ttftNs` is when the first byte came, absolute).
    func finish(success: Bool, ttftNs: UInt64?) {
        guard !done.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let now = monotonicNanoseconds()
        let latencyMs = Double(now &- startNs) / 1e6
        let ttftMs = ttftNs.map { Double($0 &- startNs) / 1e6 } ?? latencyMs
        let outcome = RouteOutcome(provider: provider, task: task, success: success, latencyMs: latencyMs, ttftMs: ttftMs)
        gateway.router.withLock { $0.release(provider, outcome: outcome, now: now) }
        gateway.learning?.changes.add(1, ordering: .relaxed)
        gateway.metrics.attempt(
            provider: provider, success: success, latencySeconds: success ? latencyMs / 1000 : nil, ttftSeconds: success ? ttftMs / 1000 : nil)
    }

    /// Ends the attempt without an outcome (counts neither for nor against the provider).
    func abandon() {
        guard !done.exchange(true, ordering: .acquiringAndReleasing) else { return }
        gateway.router.withLock { $0.release(provider, outcome: nil, now: monotonicNanoseconds()) }
    }

    deinit { abandon() }
}

/// `POST /v1/chat/completions`: checks the request, asks the router, and runs the failover
/// plan: each attempt either starts an answer (then it is returned, streamed as it arrives)
/// or fails (then the plan says where next, after what delay, within the deadline).
struct ChatCompletions<Selector: ModelSelecting>: Sendable {
    let gateway: Gateway<Selector>

    /// `copilot_requests_total`'s status for a request cancelled before its answer (the
    /// client went away, or the server stopped): nginx's "client closed request".
    static var clientClosedStatus: Int { 499 }

    static var providerHeader: HTTPField.Name { CopilotHeaders.provider }
    static var requestIDHeader: HTTPField.Name { CopilotHeaders.requestID }
    static var overheadHeader: HTTPField.Name { CopilotHeaders.overhead }
    static var taskHeader: HTTPField.Name { CopilotHeaders.task }

    /// The answer through Hummingbird (the router's handler; the fast path is ``ChatFastPath``).
    func respond(to request: Request) async -> Response {
        var request = request
        let limit = gateway.settings.maxBodyBytes
        return await reply(headers: ChatHeaders(request.headers)) {
            do {
                return try await request.collectBody(upTo: limit)
            } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                throw GatewayError.bodyTooLarge(limitBytes: limit)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw GatewayError.malformedJSON(reason: "the body could not be read")
            }
        }.response
    }

    /// The answer to one request, before any server writes it. `readBody` returns the whole
    /// body or throws ``GatewayError`` (too large, unreadable) or `CancellationError`; it is
    /// called after the headers are checked.
    func reply(headers: ChatHeaders, body readBody: () async throws -> ByteBuffer) async -> Reply {
        let startNs = monotonicNanoseconds()
        let requestID = gateway.nextRequestID()
        do {
            try checkHeaders(headers)
            let body = try await readBody()
            return try await answer(try prepare(headers: headers, body: body, requestID: requestID, startNs: startNs))
        } catch {
            return failed(error, requestID: requestID, cancelled: Task.isCancelled)
        }
    }

    /// The answer to a request ``prepare(headers:body:requestID:startNs:)`` has checked and
    /// routed, in a task (streams, the cache, hedges, mock and https providers).
    func reply(to prepared: Prepared) async -> Reply {
        do {
            return try await answer(prepared)
        } catch {
            return failed(error, requestID: prepared.requestID, cancelled: Task.isCancelled)
        }
    }

    /// The error answer to a request that threw `error`, counted: as its status, or as nginx's
    /// "client closed request" (499) when the client went away (`cancelled`).
    func failed(_ error: any Error, requestID: String, cancelled: Bool) -> Reply {
        if let error = error as? GatewayError {
            gateway.metrics.request(status: cancelled ? Self.clientClosedStatus : error.status, overheadSeconds: nil)
            return Self.errorReply(error, requestID: requestID)
        }
        // Only cancellation gets here (the client went away, or the server is stopping).
        let wrapped = GatewayError.upstreamUnavailable(model: "?", detail: "the request was cancelled")
        gateway.metrics.request(status: Self.clientClosedStatus, overheadSeconds: nil)
        return Self.errorReply(wrapped, requestID: requestID)
    }

    /// A request that passed every check, with its route: what ``answer(_:)`` and
    /// ``answerOnLoop(_:on:cancellation:)`` start from.
    struct Prepared: Sendable {
        let requestID: String
        /// When the request was complete, monotonic nanoseconds.
        let startNs: UInt64
        let chat: ChatRequest
        /// `x-copilot-task`.
        let task: String?
        /// `x-copilot-tuned` when the task's tuner set parameters.
        let tunedHeader: String?
        let decision: RouteDecision
        let plan: FailoverPlan
        /// The response cache's key, when the request is cacheable.
        let cacheKey: String?
    }

    /// The checks made before the body is read: the bearer token and the content type.
    func checkHeaders(_ headers: ChatHeaders) throws(GatewayError) {
        guard gateway.isAuthorized(headers.authorization) else { throw .unauthorized }
        let contentType = headers.contentType ?? ""
        guard Self.isJSON(contentType) else { throw .unsupportedContentType(contentType.isEmpty ? "(none)" : contentType) }
    }

    /// Whether a content type is `application/json` (any case, any parameters), without
    /// lowercasing a copy.
    static func isJSON(_ contentType: String) -> Bool {
        contentType.utf8.starts(lowercasedASCII: "application/json")
    }

    /// Checks the body and routes the request: the model, the task and its tuner, the
    /// router's decision and failover plan, the cache key.
    func prepare(headers: ChatHeaders, body: ByteBuffer, requestID: String, startNs: UInt64) throws(GatewayError) -> Prepared {
        var chat = try ChatRequest(body: body)
        let task = headers.task
        if let task, gateway.settings.task(named: task) == nil {
            throw .unknownTask(task, known: gateway.settings.tasks.map(\.name))
        }
        // The task's tuner sets what it may (nothing before the task's first score).
        var tunedHeader: String?
        if let task, let (parameters, mode) = gateway.learning?.tuning?.current(task), let rewritten = try chat.tuned(parameters, mode: mode) {
            chat = rewritten
            tunedHeader = chat.parameters.map { "temperature=\($0.temperature), top_p=\($0.topP), max_tokens=\($0.maxTokens)" }
        }
        let model = chat.model
        let (serves, decision, plan) = gateway.router.withLock { r -> (Bool, RouteDecision, FailoverPlan) in
            let d = r.decide(model: model, task: task, now: startNs)
            return (r.serves(model), d, r.plan(for: d))
        }
        guard serves else { throw .unknownModel(chat.model, known: gateway.settings.modelNames) }
        let cacheKey = gateway.cache?.key(for: chat, body: chat.original, header: headers.cache)
        return Prepared(
            requestID: requestID, startNs: startNs, chat: chat, task: task, tunedHeader: tunedHeader, decision: decision, plan: plan,
            cacheKey: cacheKey)
    }

    /// Whether ``answerOnLoop(_:on:cancellation:)`` can answer `prepared`: nothing to cache,
    /// no hedge, and only plain-HTTP providers to try. A stream is answered there only when
    /// `streams` (its server can relay one).
    func answersOnLoop(_ prepared: Prepared, streams: Bool) -> Bool {
        (streams || !prepared.chat.stream) && prepared.cacheKey == nil
            && (prepared.decision.hedgeAfterNs == nil || prepared.decision.ranked.count < 2)
            && prepared.plan.candidates.allSatisfy { gateway.callers[$0].answersOnEventLoop }
    }

    /// The cache, then the failover plan: each attempt either starts an answer (returned,
    /// streamed as it arrives) or fails (then the plan says where next, after what delay).
    private func answer(_ prepared: Prepared) async throws -> Reply {
        let chat = prepared.chat, task = prepared.task, decision = prepared.decision, startNs = prepared.startNs
        let requestID = prepared.requestID, cacheKey = prepared.cacheKey, tunedHeader = prepared.tunedHeader
        if let cacheKey, let cache = gateway.cache {
            if let entry = await cache.get(cacheKey), let response = cachedResponse(entry, stream: chat.stream, requestID: requestID, startNs: startNs) {
                gateway.metrics.cache(hit: true)
                return response
            }
            gateway.metrics.cache(hit: false)
        }
        var plan = prepared.plan
        var step = plan.start(now: startNs)
        var waitedNs: UInt64 = 0  // time spent in upstream calls and backoff: not overhead
        var lastFailure: UpstreamFailure?
        while true {
            switch step {
            case .giveUp(let reason):
                gateway.metrics.failover(fallbacks: plan.fallbacks, retries: plan.retries)
                throw Self.giveUpError(reason, last: lastFailure, model: chat.model, excluded: decision.excluded.count)
            case .attempt(let provider, let delayNs):
                if delayNs > 0 {
                    try await Task.sleep(nanoseconds: delayNs)
                    waitedNs &+= delayNs
                }
                let attemptStart = monotonicNanoseconds()
                var started: AttemptStart
                var hedgeFailure: AttemptStart?
                if plan.attempts == 1, let hedgeNs = decision.hedgeAfterNs, decision.ranked.count >= 2 {
                    (started, hedgeFailure) = try await hedged(
                        primary: provider, secondary: decision.ranked[1].provider, afterNs: hedgeNs, chat: chat,
                        task: task, deadlineNs: decision.deadlineNs)
                } else {
                    started = try await startAttempt(provider, chat: chat, task: task, deadlineNs: decision.deadlineNs)
                }
                if case .started(let lease, let answer, let firstByteNs) = started {
                    gateway.metrics.failover(fallbacks: plan.fallbacks, retries: plan.retries)
                    if chat.stream {
                        waitedNs &+= firstByteNs &- attemptStart
                        return streamResponse(
                            answer, lease: lease, firstByteNs: firstByteNs, requestID: requestID, startNs: startNs, waitedNs: waitedNs,
                            cacheKey: cacheKey, parameters: chat.parameters, tunedHeader: tunedHeader)
                    }
                    do {
                        let bytes = try await Self.collectJSON(answer.body, provider: gateway.settings.providers[lease.provider].name)
                        lease.finish(success: true, ttftNs: firstByteNs)
                        waitedNs &+= monotonicNanoseconds() &- attemptStart
                        return completed(bytes, lease: lease, prepared: prepared, waitedNs: waitedNs)
                    } catch let failure as UpstreamFailure {
                        lease.finish(success: false, ttftNs: nil)
                        started = .failed(provider: lease.provider, failure)
                    } catch {
                        lease.abandon()
                        throw error
                    }
                }
                let now = monotonicNanoseconds()
                waitedNs &+= now &- attemptStart
                for (index, outcome) in [started, hedgeFailure].compactMap({ $0 }).enumerated() {
                    guard case .failed(let failedProvider, let failure) = outcome else { continue }
                    lastFailure = failure
                    // A hedge that failed too was tried already: step past it if the plan names it next.
                    if index == 0 {
                        step = next(&plan, after: failure, of: failedProvider, requestID: requestID, now: now)
                    } else if case .attempt(let planned, _) = step, planned == failedProvider {
                        step = next(&plan, after: failure, of: failedProvider, requestID: requestID, now: now)
                    } else {
                        logFailure(failure, of: failedProvider, requestID: requestID)
                    }
                }
            }
        }
    }

    /// The step after `provider`'s attempt failed with `failure` (logged at debug level).
    func next(_ plan: inout FailoverPlan, after failure: UpstreamFailure, of provider: Int, requestID: String, now: UInt64) -> FailoverPlan.Step {
        logFailure(failure, of: provider, requestID: requestID)
        return gateway.router.withLock { $0.next(&plan, after: failure.kind, now: now) }
    }

    private func logFailure(_ failure: UpstreamFailure, of provider: Int, requestID: String) {
        gateway.logger.debug(
            "attempt failed", metadata: ["request": "\(requestID)", "provider": "\(gateway.settings.providers[provider].name)", "reason": "\(failure.detail)"])
    }

    /// The answer of a successful non-streamed attempt (its lease already finished): the
    /// request counted with its overhead (all but `waitedNs`), the answer remembered for
    /// feedback and stored in the cache when it is cacheable.
    func completed(_ bytes: ByteBuffer, lease: AttemptLease<Selector>, prepared: Prepared, waitedNs: UInt64) -> Reply {
        let provider = lease.provider
        gateway.learning?.remember(prepared.requestID, provider: provider, task: prepared.task, parameters: prepared.chat.parameters)
        let overheadNs = (monotonicNanoseconds() &- prepared.startNs) &- waitedNs
        gateway.metrics.request(status: 200, overheadSeconds: Double(overheadNs) / 1e9)
        var headers = Self.headers(provider: gateway.settings.providers[provider].name, requestID: prepared.requestID, overheadNs: overheadNs)
        headers.add(.contentType, "application/json")
        if let tunedHeader = prepared.tunedHeader { headers[CopilotHeaders.tuned] = tunedHeader }
        if let cacheKey = prepared.cacheKey, let cache = gateway.cache {
            cache.set(cacheKey, CachedCompletion.entry(Array(bytes.readableBytesView), form: .json))
            headers[GatewayCache.header] = "miss"
        }
        return Reply(status: 200, headers: headers, body: bytes)
    }

    /// Reserves provider `provider` for one attempt: its lease and the model name to send,
    /// or nil when it can no longer be used (breaker, concurrency).
    func lease(_ provider: Int, model: String, task: String?) -> (AttemptLease<Selector>, upstreamModel: String)? {
        let attemptStart = monotonicNanoseconds()
        let (acquired, upstreamModel) = gateway.router.withLock {
            ($0.acquire(provider, now: attemptStart), $0.upstreamModel(provider: provider, requested: model))
        }
        guard acquired else { return nil }
        return (AttemptLease(gateway: gateway, provider: provider, task: task, startNs: attemptStart), upstreamModel)
    }

    /// The failure of an attempt on a provider that could not be reserved.
    func unavailable(_ provider: Int) -> UpstreamFailure {
        UpstreamFailure(.connection, "\(gateway.settings.providers[provider].name) became unavailable")
    }

    /// How the start of one attempt went.
    enum AttemptStart: Sendable {
        /// The answer has begun; `lease` must be finished.
        case started(AttemptLease<Selector>, UpstreamAnswer, firstByteNs: UInt64)
        /// It failed before any of it reached the client (already recorded).
        case failed(provider: Int, UpstreamFailure)
    }

    /// Reserves provider `provider` and opens its answer. Failures are recorded on the lease;
    /// cancellation (client gone, hedge lost) abandons it and rethrows.
    private func startAttempt(_ provider: Int, chat: ChatRequest, task: String?, deadlineNs: UInt64) async throws -> AttemptStart {
        guard let (lease, upstreamModel) = lease(provider, model: chat.model, task: task) else {
            return .failed(provider: provider, unavailable(provider))
        }
        do {
            let answer = try await gateway.callers[provider].open(
                body: chat.body(for: upstreamModel), request: chat, upstreamModel: upstreamModel, deadlineNs: deadlineNs)
            return .started(lease, answer, firstByteNs: monotonicNanoseconds())
        } catch let failure as UpstreamFailure {
            lease.finish(success: false, ttftNs: nil)
            return .failed(provider: provider, failure)
        } catch {
            lease.abandon()
            throw error
        }
    }

    /// The primary attempt, and after `afterNs` without its first byte a second one on
    /// `secondary`; the first to start answering wins and the other is cancelled. Returns the
    /// winner (or the primary's failure when both failed) and the hedge's failure, if any.
    private func hedged(
        primary: Int, secondary: Int, afterNs: UInt64, chat: ChatRequest, task: String?, deadlineNs: UInt64
    ) async throws -> (AttemptStart, AttemptStart?) {
        let fired = HedgeFlag()
        return try await withThrowingTaskGroup(of: (Bool, AttemptStart?).self) { group in
            group.addTask { (true, try await startAttempt(primary, chat: chat, task: task, deadlineNs: deadlineNs)) }
            group.addTask {
                try await Task.sleep(nanoseconds: afterNs)
                fired.set()
                gateway.metrics.hedge()
                return (false, try await startAttempt(secondary, chat: chat, task: task, deadlineNs: deadlineNs))
            }
            var primaryResult: AttemptStart?
            var secondaryResult: AttemptStart?
            while let next = try await group.next() {
                let (isPrimary, result) = next
                if case .started = result {
                    group.cancelAll()
                    // A loser that started too is dropped (its lease abandons itself).
                    while (try? await group.next()) != nil {}
                    return (result!, nil)
                }
                if isPrimary { primaryResult = result } else { secondaryResult = result }
                // The primary failed before the hedge fired: no hedge, normal failover.
                if isPrimary, !fired.isSet {
                    group.cancelAll()
                    while (try? await group.next()) != nil {}
                    break
                }
            }
            return (primaryResult!, secondaryResult)
        }
    }

    /// Reads a whole JSON answer; a broken connection or a body that is not JSON is a failure.
    static func collectJSON(_ body: UpstreamBody, provider: String) async throws -> ByteBuffer {
        var rest = body
        let bytes: ByteBuffer
        do {
            bytes = try await rest.collect(limit: 64 << 20)
        } catch let failure as UpstreamFailure {
            throw failure
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw UpstreamFailure(.connection, "\(provider) closed the connection mid-answer")
        }
        guard UpstreamCaller.looksLikeJSONObject(bytes) else {
            throw UpstreamFailure(.invalidResponse, "\(provider) answered something that is not JSON")
        }
        return bytes
    }

    /// A streamed answer: its head now, its chunks as ``ReplyStream/pump(_:)`` passes them on.
    private func streamResponse(
        _ answer: UpstreamAnswer, lease: AttemptLease<Selector>, firstByteNs: UInt64, requestID: String, startNs: UInt64, waitedNs: UInt64,
        cacheKey: String?, parameters: GenerationParameters?, tunedHeader: String?
    ) -> Reply {
        var headers = streamHeaders(lease: lease, requestID: requestID, startNs: startNs, waitedNs: waitedNs, parameters: parameters, tunedHeader: tunedHeader)
        let cache = cacheKey == nil ? nil : gateway.cache
        if cache != nil { headers[GatewayCache.header] = "miss" }
        let stream = ReplyStream(
            first: answer.firstChunk, upstream: UpstreamBodyBox(answer.body), lease: lease, firstByteNs: firstByteNs,
            providerName: lease.gateway.settings.providers[lease.provider].name, cache: cache, cacheKey: cacheKey)
        return Reply(status: 200, headers: headers, body: ByteBuffer(), stream: stream)
    }

    /// A stream from a pooled connection that has started, for its server to relay (from
    /// ``answerOnLoop(_:on:cancellation:)``; never cached).
    func relayed(_ first: ByteBuffer, rest: PooledStream, lease: AttemptLease<Selector>, firstByteNs: UInt64, prepared: Prepared, waitedNs: UInt64) -> Reply {
        let headers = streamHeaders(
            lease: lease, requestID: prepared.requestID, startNs: prepared.startNs, waitedNs: waitedNs, parameters: prepared.chat.parameters,
            tunedHeader: prepared.tunedHeader)
        let relay = Relay(first: first, rest: rest, lease: lease, firstByteNs: firstByteNs, providerName: gateway.settings.providers[lease.provider].name)
        return Reply(status: 200, headers: headers, body: ByteBuffer(), relay: relay)
    }

    /// A stream's headers, with the request counted and remembered for feedback.
    private func streamHeaders(
        lease: AttemptLease<Selector>, requestID: String, startNs: UInt64, waitedNs: UInt64, parameters: GenerationParameters?, tunedHeader: String?
    ) -> ReplyHeaders {
        let overheadNs = (monotonicNanoseconds() &- startNs) &- waitedNs
        gateway.metrics.request(status: 200, overheadSeconds: Double(overheadNs) / 1e9)
        gateway.learning?.remember(requestID, provider: lease.provider, task: lease.task, parameters: parameters)
        var headers = Self.headers(provider: gateway.settings.providers[lease.provider].name, requestID: requestID, overheadNs: overheadNs)
        if let tunedHeader { headers[CopilotHeaders.tuned] = tunedHeader }
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return headers
    }

    /// The SSE event that ends a stream whose provider failed after its first chunk.
    static func brokenStreamEvent(provider: String) -> String {
        "data: " + GatewayError.upstreamUnavailable(model: provider, detail: "the stream broke off").body + "\n\n"
    }

    /// An answer before a server writes it: status, headers and either the whole body or a
    /// stream still coming from the provider.
    struct Reply: Sendable {
        var status: Int
        var headers: ReplyHeaders
        /// The whole body (empty for a stream).
        var body: ByteBuffer
        /// The rest of a streamed answer.
        var stream: ReplyStream?
        /// The rest of a streamed answer a server relays from the loop (the fast path only).
        var relay: Relay?

        /// The same answer as a Hummingbird response.
        var response: Response {
            guard let stream else {
                return Response(status: .init(code: status), headers: headers.httpFields, body: ResponseBody(byteBuffer: body))
            }
            return Response(status: .init(code: status), headers: headers.httpFields, body: ResponseBody { writer in
                try await stream.pump { try await writer.write($0) }
                try await writer.finish(nil)
            })
        }
    }

    /// A streamed answer relayed on the event loops: its first chunk, the rest from the pooled
    /// connection, and the attempt to finish when the stream ends (with success), breaks off
    /// (failure, after an SSE error event) or is dropped by the client (abandoned).
    struct Relay: Sendable {
        let first: ByteBuffer
        let rest: PooledStream
        let lease: AttemptLease<Selector>
        let firstByteNs: UInt64
        let providerName: String
    }

    /// The chunks of a streamed answer: the first one, then every chunk as it arrives. A
    /// failure after the first chunk cannot fail over (the client has part of an answer); the
    /// stream ends with an SSE error event. A client that goes away ends the loop, which drops
    /// the upstream call.
    struct ReplyStream: Sendable {
        let first: ByteBuffer?
        let upstream: UpstreamBodyBox
        let lease: AttemptLease<Selector>
        let firstByteNs: UInt64
        let providerName: String
        let cache: GatewayCache?
        let cacheKey: String?

        /// Passes every chunk to `write` (once); throws what `write` throws (the client went away).
        func pump(_ write: (ByteBuffer) async throws -> Void) async throws {
            var body = upstream.take()
            // The stream as sent, for the cache (dropped past the size limit).
            var recorded: [UInt8]? = cache == nil ? nil : []
            func record(_ chunk: ByteBuffer) {
                guard recorded != nil else { return }
                if recorded!.count + chunk.readableBytes > GatewayCache.maxRecordedBytes { recorded = nil } else { recorded!.append(contentsOf: chunk.readableBytesView) }
            }
            do {
                if let first {
                    record(first)
                    try await write(first)
                }
            } catch {
                lease.abandon()
                throw error
            }
            while true {
                let chunk: ByteBuffer?
                do {
                    chunk = try await body.next()
                } catch {
                    lease.finish(success: false, ttftNs: firstByteNs)
                    try? await write(ByteBuffer(string: ChatCompletions.brokenStreamEvent(provider: providerName)))
                    return
                }
                guard let chunk else { break }
                record(chunk)
                do {
                    try await write(chunk)
                } catch {
                    lease.abandon()  // the client went away; the upstream call is dropped with `body`
                    throw error
                }
            }
            lease.finish(success: true, ttftNs: firstByteNs)
            if let cache, let cacheKey, let recorded, String(decoding: recorded.suffix(32), as: UTF8.self).contains("[DONE]") {
                cache.set(cacheKey, CachedCompletion.entry(recorded, form: .sse))
            }
        }
    }

    /// A cached answer in the form the request asks for; nil when the entry cannot be read
    /// (then the request goes upstream and the entry is replaced).
    private func cachedResponse(_ entry: [UInt8], stream: Bool, requestID: String, startNs: UInt64) -> Reply? {
        guard let bytes = try? (stream ? CachedCompletion.sse(from: entry) : CachedCompletion.json(from: entry)) else { return nil }
        let overheadNs = monotonicNanoseconds() &- startNs
        gateway.metrics.request(status: 200, overheadSeconds: Double(overheadNs) / 1e9)
        var headers = Self.headers(provider: "cache", requestID: requestID, overheadNs: overheadNs)
        headers[.contentType] = stream ? "text/event-stream" : "application/json"
        if stream { headers[.cacheControl] = "no-cache" }
        headers[GatewayCache.header] = "hit"
        return Reply(status: 200, headers: headers, body: ByteBuffer(bytes: bytes))
    }

    static func headers(provider: String, requestID: String, overheadNs: UInt64) -> ReplyHeaders {
        var headers = ReplyHeaders()
        headers.add(providerHeader, provider)
        headers.add(requestIDHeader, requestID)
        headers.add(overheadHeader, String(overheadNs / 1000))
        return headers
    }

    static func errorResponse(_ error: GatewayError, requestID: String) -> Response {
        errorReply(error, requestID: requestID).response
    }

    static func errorReply(_ error: GatewayError, requestID: String) -> Reply {
        var headers = ReplyHeaders()
        headers[.contentType] = "application/json"
        headers[requestIDHeader] = requestID
        if case .unauthorized = error { headers[.wwwAuthenticate] = "Bearer" }
        return Reply(status: error.status, headers: headers, body: ByteBuffer(string: error.body))
    }

    static func giveUpError(_ reason: FailoverPlan.GiveUpReason, last: UpstreamFailure?, model: String, excluded: Int) -> GatewayError {
        if case .clientError(let status) = last?.kind, let last {
            let message = last.body.map { String(buffer: $0) }.map { String($0.prefix(500)) } ?? last.detail
            return .upstreamRejected(status: status, detail: last.detail, message: message)
        }
        let why: String
        switch reason {
        case .noCandidates: why = last?.detail ?? "every provider serving it is unavailable (open breaker, full, or excluded by the task)"
        case .attemptsExhausted: why = "max_attempts reached; last failure: \(last?.detail ?? "none")"
        case .deadline: why = "the deadline passed; last failure: \(last?.detail ?? "none")"
        case .notRetryable: why = last?.detail ?? "not retryable"
        }
        return .upstreamUnavailable(model: model, detail: why)
    }
}

/// The `x-copilot-*` header names, made once (a generic type cannot store them).
enum CopilotHeaders {
    static let provider = HTTPField.Name("x-copilot-provider")!
    static let requestID = HTTPField.Name("x-copilot-request-id")!
    static let overhead = HTTPField.Name("x-copilot-overhead-us")!
    static let task = HTTPField.Name("x-copilot-task")!
    static let cache = HTTPField.Name("x-copilot-cache")!
    /// The generation parameters a task's tuner set, when it set any.
    static let tuned = HTTPField.Name("x-copilot-tuned")!
}

/// The headers of an answer the gateway makes: a few fields in the order they were set, with
/// names the gateway defines and values it builds (made legal as HTTPTypes would: a control
/// character becomes a space). Turned into `HTTPFields` only for Hummingbird; the fast path
/// writes them as bytes. `HTTPFields` for every answer cost about 3% of the instructions per
/// request (its validation and index), and walking it to write them as much again.
struct ReplyHeaders: Sendable {
    private(set) var fields: [(name: HTTPField.Name, value: String)] = []

    init() {
        fields.reserveCapacity(6)
    }

    /// The value of the field named `name` (set: replaced in place, or added at the end;
    /// nil removes it).
    subscript(name: HTTPField.Name) -> String? {
        get { fields.first { $0.name == name }?.value }
        set {
            let index = fields.firstIndex { $0.name == name }
            switch (index, newValue) {
            case (let i?, let value?): fields[i].value = Self.legal(value)
            case (let i?, nil): fields.remove(at: i)
            case (nil, let value?): fields.append((name, Self.legal(value)))
            case (nil, nil): break
            }
        }
    }

    /// Adds a field the headers do not have yet (no search for an earlier one).
    mutating func add(_ name: HTTPField.Name, _ value: String) {
        fields.append((name, Self.legal(value)))
    }

    /// The same fields for Hummingbird.
    var httpFields: HTTPFields {
        HTTPFields(fields.map { HTTPField(name: $0.name, value: $0.value) })
    }

    /// `value` made legal as HTTPTypes makes it: any control character (CR and LF included)
    /// becomes a space, so no value can end its line early, and blanks at either end go.
    static func legal(_ value: String) -> String {
        func isVisible(_ byte: UInt8) -> Bool { (0x21...0x7E).contains(byte) || byte >= 0x80 }
        func isLegal(_ bytes: some BidirectionalCollection<UInt8>) -> Bool {
            (bytes.first.map(isVisible) ?? true) && (bytes.last.map(isVisible) ?? true)
                && bytes.allSatisfy { isVisible($0) || $0 == 0x20 || $0 == 0x09 }
        }
        let bytes = value.utf8
        guard !(bytes.withContiguousStorageIfAvailable(isLegal) ?? isLegal(bytes)) else { return value }
        var out: [UInt8] = []
        var end = 0
        for byte in bytes {
            if isVisible(byte) {
                out.append(byte)
                end = out.count
            } else if !out.isEmpty {
                out.append(byte == 0x09 ? byte : 0x20)
            }
        }
        return String(decoding: out[..<end], as: UTF8.self)
    }
}

/// The request headers a chat completion reads, from Hummingbird's `HTTPFields` or, on the
/// fast path, straight from NIO's `HTTPHeaders` in one pass (a field given twice reads as its
/// values joined by ", ", as `HTTPFields` joins them).
struct ChatHeaders: Sendable {
    var authorization: String?
    var contentType: String?
    /// `x-copilot-task`.
    var task: String?
    /// `x-copilot-cache`.
    var cache: String?
}

extension ChatHeaders {
    init(_ fields: HTTPFields) {
        self.init(
            authorization: fields[.authorization], contentType: fields[.contentType], task: fields[CopilotHeaders.task],
            cache: fields[CopilotHeaders.cache])
    }

    init(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            switch name.utf8.count {
            // The lengths are equal, so a matching start is the whole name.
            case 12 where name.utf8.starts(lowercasedASCII: "content-type"): Self.add(value, to: &contentType)
            case 13 where name.utf8.starts(lowercasedASCII: "authorization"): Self.add(value, to: &authorization)
            case 14 where name.utf8.starts(lowercasedASCII: "x-copilot-task"): Self.add(value, to: &task)
            case 15 where name.utf8.starts(lowercasedASCII: "x-copilot-cache"): Self.add(value, to: &cache)
            default: break
            }
        }
    }

    private static func add(_ value: String, to field: inout String?) {
        field = field.map { "\($0), \(value)" } ?? value
    }
}

extension String.UTF8View {
    /// Whether these bytes, ASCII letters lowercased, start with `lowercase` (which is
    /// lowercase), without lowercasing a copy.
    fileprivate func starts(lowercasedASCII lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { expected in
            starts(with: expected) { byte, want in
                ((UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte) == want
            }
        }
    }
}

/// Whether a hedge has started (set by its task, read by the request's).
final class HedgeFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// Hands an ``UpstreamBody`` to the response writer (a `@Sendable` closure).
final class UpstreamBodyBox: @unchecked Sendable {
    // @unchecked: set once here and taken once by the single writer task.
    private var body: UpstreamBody?
    init(_ body: UpstreamBody) { self.body = body }
    func take() -> UpstreamBody {
        defer { body = nil }
        return body!
    }
}
