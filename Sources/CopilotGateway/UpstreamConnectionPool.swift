import CopilotCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The start of an HTTP/1.1 answer from an upstream: the head and either the whole body or,
/// for a successful stream, its first chunk with the rest to follow in `rest`.
struct UpstreamReply: Sendable {
    var head: HTTPResponseHead
    var body: ByteBuffer
    var rest: AsyncThrowingStream<ByteBuffer, any Error>?
}

/// The hot path to a plain-HTTP provider: a pool of keep-alive connections (TCP_NODELAY)
/// driven by one small channel handler each, with no Swift task per request: the request is
/// written in one flush, the answer collected (or, for a stream, its chunks passed on) on the
/// connection's event loop, and the first-chunk and attempt deadlines are timers on that
/// loop. `https` providers go through AsyncHTTPClient instead.
///
/// Measured on the benchmark's fixed completion: about half the CPU per request of the same
/// call through AsyncHTTPClient.
final class UpstreamConnectionPool: Sendable {
    private let host: String
    private let port: Int
    private let hostHeader: String
    private let group: any EventLoopGroup
    /// Idle connections by the event loop they live on, so a request handled on a loop finds
    /// one on the same loop (no thread hop between the client's side and the upstream's).
    private let idle = Mutex<[ObjectIdentifier: [any Channel]]>([:])
    private let maxIdle: Int

    /// A pool for `http://host:port`; `maxIdle` connections are kept open between requests.
    init(host: String, port: Int, maxIdle: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.host = host
        self.port = port
        hostHeader = port == 80 ? host : "\(host):\(port)"
        self.group = group
        self.maxIdle = maxIdle
    }

    /// Closes the idle connections.
    func shutdown() {
        let channels = idle.withLock { lists -> [any Channel] in
            defer { lists.removeAll() }
            return lists.values.flatMap { $0 }
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// POSTs `body` to `path` and returns the whole answer, or throws ``UpstreamFailure``.
    /// `timeoutNs` bounds the whole exchange, connecting included.
    /// With `firstChunkTimeoutNs`, the answer is a stream: it returns at the first body chunk
    /// of a 2xx answer (which must come within that time), the rest following in `rest`.
    func post(
        path: String, body: ByteBuffer, headers extra: [(String, String)], timeoutNs: UInt64, firstChunkTimeoutNs: UInt64? = nil,
        provider: String
    ) async throws -> UpstreamReply {
        var headers = HTTPHeaders()
        headers.reserveCapacity(5 + extra.count)
        headers.add(name: "host", value: hostHeader)
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        for (name, value) in extra { headers.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)
        let now = NIODeadline.now()
        let deadline = now + .nanoseconds(Int64(timeoutNs))
        let firstChunk = firstChunkTimeoutNs.map { now + .nanoseconds(Int64(min($0, timeoutNs))) }
        // A reused connection the server has just closed fails before any answer: try a
        // fresh one once.
        if let channel = takeIdle() {
            do {
                return try await exchange(on: channel, head: head, body: body, deadline: deadline, firstChunk: firstChunk, provider: provider)
            } catch is StaleConnection {
                // fall through to a new connection
            }
        }
        try Task.checkCancellation()
        let channel: any Channel
        do {
            channel = try await connect(deadline: deadline)
        } catch {
            throw UpstreamFailure(.connection, "cannot reach \(provider) (\(UpstreamCaller.describe(error)))")
        }
        do {
            return try await exchange(on: channel, head: head, body: body, deadline: deadline, firstChunk: firstChunk, provider: provider)
        } catch is StaleConnection {
            throw UpstreamFailure(.connection, "\(provider) closed the connection before answering")
        }
    }

    private struct StaleConnection: Error {}

    private func takeIdle() -> (any Channel)? {
        let here = MultiThreadedEventLoopGroup.currentEventLoop.map { ObjectIdentifier($0) }
        return idle.withLock { lists in
            if let here, let channel = Self.popActive(&lists, here) { return channel }
            for key in lists.keys {
                if let channel = Self.popActive(&lists, key) { return channel }
            }
            return nil
        }
    }

    private static func popActive(_ lists: inout [ObjectIdentifier: [any Channel]], _ key: ObjectIdentifier) -> (any Channel)? {
        while let channel = lists[key]?.popLast() {
            if channel.isActive { return channel }
        }
        return nil
    }

    /// Back to the pool after a complete answer (or closed when it cannot be reused).
    fileprivate func putIdle(_ channel: any Channel) {
        let key = ObjectIdentifier(channel.eventLoop)
        let kept = idle.withLock { lists -> Bool in
            guard lists[key, default: []].count < maxIdle else { return false }
            lists[key, default: []].append(channel)
            return true
        }
        if !kept { channel.close(promise: nil) }
    }

    private func connect(deadline: NIODeadline) async throws -> any Channel {
        let timeout = deadline - .now()
        // On the loop this request runs on, when it runs on one.
        let loop: any EventLoopGroup = MultiThreadedEventLoopGroup.currentEventLoop ?? group
        return try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(min(timeout, .seconds(2)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(UpstreamExchangeHandler())
                }
            }
            .connect(host: host, port: port)
            .get()
    }

    private func exchange(
        on channel: any Channel, head: HTTPRequestHead, body: ByteBuffer, deadline: NIODeadline, firstChunk: NIODeadline?, provider: String
    ) async throws -> UpstreamReply {
        let promise = channel.eventLoop.makePromise(of: UpstreamReply.self)
        let start: @Sendable () throws -> Void = { [self] in
            // A pooled connection the server closed after `takeIdle` looked at it has already
            // had its `channelInactive`: nothing would ever fail this exchange but its deadline
            // (a timeout counted against the provider). Checked here, on the connection's loop,
            // no close can come between this check and the writes without failing the exchange.
            guard channel.isActive else { throw StaleConnection() }
            let handler = try channel.pipeline.syncOperations.handler(type: UpstreamExchangeHandler.self)
            handler.begin(promise: promise, channel: channel, deadline: deadline, firstChunk: firstChunk, pool: self)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        do {
            // Already on the connection's loop (the usual case: the pool hands out connections
            // on the caller's loop): start at once, without a scheduled task and a suspension.
            if channel.eventLoop.inEventLoop { try start() } else { try await channel.eventLoop.submit(start).get() }
        } catch {
            promise.fail(StaleConnection())  // never begun: no handler will complete it
            throw StaleConnection()
        }
        do {
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch let error as UpstreamExchangeHandler.Failure {
            // The caller went away (its cancellation closed the connection): not the provider's failure.
            if Task.isCancelled { throw CancellationError() }
            switch error {
            case .closedBeforeAnswer: throw StaleConnection()
            case .closedMidAnswer: throw UpstreamFailure(.connection, "\(provider) closed the connection mid-answer")
            case .timeout: throw UpstreamFailure(.timeout, "no answer from \(provider) within timeout_ms")
            case .firstChunkTimeout: throw UpstreamFailure(.timeout, "no first chunk from \(provider) within ttft_timeout_ms")
            case .tooLarge: throw UpstreamFailure(.invalidResponse, "\(provider) answered more than 64 MiB")
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw UpstreamFailure(.connection, "\(provider) failed mid-answer (\(UpstreamCaller.describe(error)))")
        }
    }
}

/// The per-connection state machine of ``UpstreamConnectionPool``: one request at a time;
/// the answer collected into one buffer, or for a 2xx stream handed on chunk by chunk; the
/// deadlines are timers on the connection's loop. A complete answer returns the connection
/// to the pool; anything else closes it.
final class UpstreamExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    enum Failure: Error {
        /// Closed before the first byte of the answer (a stale keep-alive connection).
        case closedBeforeAnswer
        case closedMidAnswer
        case timeout
        case firstChunkTimeout
        case tooLarge
    }

    static let maxBodyBytes = 64 << 20
    private var promise: EventLoopPromise<UpstreamReply>?
    private var continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var timer: Scheduled<Void>?
    private var deadline = NIODeadline.distantFuture
    private var streaming = false
    private var wantsStream = false
    private var channel: (any Channel)?
    private var pool: UpstreamConnectionPool?

    func begin(promise: EventLoopPromise<UpstreamReply>, channel: any Channel, deadline: NIODeadline, firstChunk: NIODeadline?, pool: UpstreamConnectionPool) {
        self.promise = promise
        self.channel = channel
        self.pool = pool
        self.deadline = deadline
        head = nil
        body.clear()
        streaming = false
        wantsStream = firstChunk != nil
        arm(firstChunk ?? deadline, failure: firstChunk == nil ? .timeout : .firstChunkTimeout)
    }

    private func arm(_ at: NIODeadline, failure: Failure) {
        timer?.cancel()
        guard let channel else { return }
        let handler = NIOLoopBound(self, eventLoop: channel.eventLoop)
        timer = channel.eventLoop.scheduleTask(deadline: at) {
            handler.value.fail(failure)
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            streaming = wantsStream && (200..<300).contains(Int(h.status.code))
        case .body(var chunk):
            if streaming {
                if let promise, let head {
                    // The first chunk: the answer has started.
                    self.promise = nil
                    let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
                    self.continuation = continuation
                    let channel = context.channel
                    continuation.onTermination = { reason in
                        if case .cancelled = reason { channel.close(promise: nil) }  // the reader went away
                    }
                    arm(deadline, failure: .timeout)
                    promise.succeed(UpstreamReply(head: head, body: chunk, rest: stream))
                } else {
                    continuation?.yield(chunk)
                }
                return
            }
            guard body.readableBytes + chunk.readableBytes <= Self.maxBodyBytes else {
                fail(.tooLarge)
                context.close(promise: nil)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            timer?.cancel()
            timer = nil
            let keepAlive = head?.isKeepAlive ?? false
            if let continuation {
                self.continuation = nil
                continuation.finish()
            } else if let promise, let head {
                self.promise = nil
                promise.succeed(UpstreamReply(head: head, body: body, rest: nil))
                body = ByteBuffer()
            }
            if keepAlive, let pool, context.channel.isActive {
                pool.putIdle(context.channel)
            } else {
                context.close(promise: nil)
            }
            pool = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(head == nil ? .closedBeforeAnswer : .closedMidAnswer)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(head == nil ? .closedBeforeAnswer : .closedMidAnswer)
        context.close(promise: nil)
    }

    private func fail(_ failure: Failure) {
        timer?.cancel()
        timer = nil
        pool = nil
        if let continuation {
            self.continuation = nil
            continuation.finish(throwing: failure)
        }
        guard let promise else { return }
        self.promise = nil
        promise.fail(failure)
    }
}
