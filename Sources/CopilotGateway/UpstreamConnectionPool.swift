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
    var rest: PooledStream?
}

/// The rest of a stream coming from a pooled connection, after its first chunk: chunks are
/// kept until a reader attaches, then passed to it as they arrive, on the reader's loop, with
/// no Swift task (``attach(on:chunk:end:)``); or read as an `AsyncThrowingStream`
/// (``asyncStream()``). A reader that cannot keep up stops the connection's reads
/// (``setReading(_:)``); one that goes away closes the connection (``cancel()``).
final class PooledStream: @unchecked Sendable {
    // @unchecked: the state is touched only on the connection's loop.
    private struct Reader {
        let loop: any EventLoop
        let chunk: @Sendable (ByteBuffer) -> Void
        let end: @Sendable ((any Error)?) -> Void
    }

    private let channel: any Channel
    private var pending: [ByteBuffer] = []
    /// How the stream ended before a reader attached: `.some(nil)` at its end, or its failure.
    private var outcome: (any Error)??
    private var reader: Reader?
    /// Whether the exchange still runs (its reads may be stopped).
    private var running = true
    private var paused = false

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Called by the exchange on the connection's loop: a chunk.
    func deliver(_ chunk: ByteBuffer) {
        guard let reader else { return pending.append(chunk) }
        Self.run(on: reader.loop) { reader.chunk(chunk) }
    }

    /// Called by the exchange on the connection's loop: the end (`nil`) or a failure. Reads
    /// stopped by the reader are turned back on, so the connection can serve again.
    func finish(_ error: (any Error)?) {
        guard running else { return }
        running = false
        if paused {
            paused = false
            channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        }
        guard let reader else { return outcome = .some(error) }
        self.reader = nil
        Self.run(on: reader.loop) { reader.end(error) }
    }

    /// Passes the chunks that came and will come to `chunk`, then the end or the failure to
    /// `end` (once), all on `loop`, in order.
    func attach(on loop: any EventLoop, chunk: @escaping @Sendable (ByteBuffer) -> Void, end: @escaping @Sendable ((any Error)?) -> Void) {
        Self.run(on: channel.eventLoop) { [self] in
            let reader = Reader(loop: loop, chunk: chunk, end: end)
            let kept = pending
            pending = []
            if !kept.isEmpty { Self.run(on: loop) { for c in kept { chunk(c) } } }
            if let outcome {
                self.outcome = nil
                Self.run(on: loop) { end(outcome) }
            } else {
                self.reader = reader
            }
        }
    }

    /// The stream as an `AsyncThrowingStream` (for a reader in a task); dropping it closes
    /// the connection.
    func asyncStream() -> AsyncThrowingStream<ByteBuffer, any Error> {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        continuation.onTermination = { [self] reason in
            if case .cancelled = reason { cancel() }  // the reader went away
        }
        attach(on: channel.eventLoop, chunk: { continuation.yield($0) }, end: { error in continuation.finish(throwing: error) })
        return stream
    }

    /// Whether the reader has stopped the connection's reads (read on the connection's loop).
    var readsStopped: Bool { paused }

    /// Stops (`false`) or resumes (`true`) reading from the connection, from any thread.
    func setReading(_ on: Bool) {
        Self.run(on: channel.eventLoop) { [self] in
            guard running, paused == on else { return }
            paused = !on
            channel.setOption(ChannelOptions.autoRead, value: on).whenFailure { _ in }
        }
    }

    /// Drops the rest: closes the connection (from any thread).
    func cancel() {
        channel.close(promise: nil)
    }

    private static func run(on loop: any EventLoop, _ body: @escaping @Sendable () -> Void) {
        if loop.inEventLoop { body() } else { loop.execute(body) }
    }
}

/// Cancels one upstream exchange from any thread: marks it cancelled and runs what the
/// exchange set up to stop it (closing its connection, dropping a pending retry), once.
/// The exchange reads ``isCancelled`` to tell a failure it caused from the provider's.
final class ExchangeCancellation: Sendable {
    private struct State {
        var cancelled = false
        var action: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    init() {}

    /// Whether ``cancel()`` was called.
    var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Cancels: runs the action set last, if any (on the calling thread).
    func cancel() {
        let action = state.withLock { s -> (@Sendable () -> Void)? in
            guard !s.cancelled else { return nil }
            s.cancelled = true
            defer { s.action = nil }
            return s.action
        }
        action?()
    }

    /// Sets what ``cancel()`` does from now on (nil: nothing); false, and nothing set, when
    /// it has been cancelled already.
    func onCancel(_ action: (@Sendable () -> Void)?) -> Bool {
        state.withLock { s in
            guard !s.cancelled else { return false }
            s.action = action
            return true
        }
    }
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
    /// A pooled connection and the handler that runs its exchanges (found once, at connect).
    struct Connection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<UpstreamExchangeHandler>
    }

    private let host: String
    private let port: Int
    private let hostHeader: String
    private let group: any EventLoopGroup
    /// Idle connections by the event loop they live on, so a request handled on a loop finds
    /// one on the same loop (no thread hop between the client's side and the upstream's).
    private let idle = Mutex<[ObjectIdentifier: [Connection]]>([:])
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
        let connections = idle.withLock { lists -> [Connection] in
            defer { lists.removeAll() }
            return lists.values.flatMap { $0 }
        }
        for connection in connections { connection.channel.close(promise: nil) }
    }

    /// The request head for POSTs of JSON to `path` with `extra` headers, as bytes
    /// (`content-length` is added per request).
    func requestHead(path: String, headers extra: [(String, String)]) -> UpstreamRequestHead {
        UpstreamRequestHead(path: path, host: hostHeader, headers: extra)
    }

    /// POSTs `body` with `head` (from ``requestHead(path:headers:)``) and returns the whole
    /// answer, or throws ``UpstreamFailure``.
    /// `timeoutNs` bounds the whole exchange, connecting included.
    /// With `firstChunkTimeoutNs`, the answer is a stream: it returns at the first body chunk
    /// of a 2xx answer (which must come within that time), the rest following in `rest`.
    /// Cancelling the task closes the connection and throws `CancellationError`.
    func post(
        head: UpstreamRequestHead, body: ByteBuffer, timeoutNs: UInt64, firstChunkTimeoutNs: UInt64? = nil, provider: String
    ) async throws -> UpstreamReply {
        try Task.checkCancellation()
        let eventLoop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        let cancellation = ExchangeCancellation()
        return try await withTaskCancellationHandler {
            try await post(
                head: head, body: body, timeoutNs: timeoutNs, firstChunkTimeoutNs: firstChunkTimeoutNs, provider: provider, on: eventLoop,
                cancellation: cancellation
            ).get()
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// ``post(head:body:timeoutNs:firstChunkTimeoutNs:provider:)`` without a task:
    /// the answer completes on `eventLoop` (the connection is taken from that loop's idle ones
    /// when it has one, or opened on it). It fails with ``UpstreamFailure``, or with
    /// `CancellationError` once `cancellation` was cancelled (not the provider's failure).
    func post(
        head: UpstreamRequestHead, body: ByteBuffer, timeoutNs: UInt64, firstChunkTimeoutNs: UInt64?, provider: String, on eventLoop: any EventLoop,
        cancellation: ExchangeCancellation
    ) -> EventLoopFuture<UpstreamReply> {
        let now = NIODeadline.now()
        let deadline = now + .nanoseconds(Int64(timeoutNs))
        let firstChunk = firstChunkTimeoutNs.map { now + .nanoseconds(Int64(min($0, timeoutNs))) }
        let fresh: @Sendable () -> EventLoopFuture<UpstreamReply> = { [self] in
            guard !cancellation.isCancelled else { return eventLoop.makeFailedFuture(CancellationError()) }
            return connect(on: eventLoop, deadline: deadline)
                .flatMapErrorThrowing { error in
                    throw UpstreamFailure(.connection, "cannot reach \(provider) (\(UpstreamCaller.describe(error)))")
                }
                .flatMap { connection in
                    self.exchange(on: connection, head: head, body: body, deadline: deadline, firstChunk: firstChunk, provider: provider, cancellation: cancellation)
                }
                .flatMapErrorThrowing { error in
                    if error is StaleConnection { throw UpstreamFailure(.connection, "\(provider) closed the connection before answering") }
                    throw error
                }
        }
        // A reused connection the server has just closed fails before any answer: try a
        // fresh one once.
        guard let connection = takeIdle(on: eventLoop) else { return fresh() }
        return exchange(on: connection, head: head, body: body, deadline: deadline, firstChunk: firstChunk, provider: provider, cancellation: cancellation)
            .flatMapError { error in
                error is StaleConnection ? fresh() : eventLoop.makeFailedFuture(error)
            }
    }

    private struct StaleConnection: Error {}

    private func takeIdle(on eventLoop: any EventLoop) -> Connection? {
        let here = ObjectIdentifier(eventLoop)
        return idle.withLock { lists in
            if let connection = Self.popActive(&lists, here) { return connection }
            for key in lists.keys {
                if let connection = Self.popActive(&lists, key) { return connection }
            }
            return nil
        }
    }

    private static func popActive(_ lists: inout [ObjectIdentifier: [Connection]], _ key: ObjectIdentifier) -> Connection? {
        while let connection = lists[key]?.popLast() {
            if connection.channel.isActive { return connection }
        }
        return nil
    }

    /// Back to the pool after a complete answer (or closed when it cannot be reused).
    fileprivate func putIdle(_ connection: Connection) {
        let key = ObjectIdentifier(connection.channel.eventLoop)
        let kept = idle.withLock { lists -> Bool in
            guard lists[key, default: []].count < maxIdle else { return false }
            lists[key, default: []].append(connection)
            return true
        }
        if !kept { connection.channel.close(promise: nil) }
    }

    private func connect(on eventLoop: any EventLoop, deadline: NIODeadline) -> EventLoopFuture<Connection> {
        let timeout = deadline - .now()
        return ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(min(timeout, .seconds(2)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // NIO's response decoder, with the request written as bytes (see
                    // ``UpstreamRequestHead``) in place of NIO's request encoder.
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(RawRequestEncoder())
                    try sync.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
                    try sync.addHandler(UpstreamExchangeHandler())
                }
            }
            .connect(host: host, port: port)
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: UpstreamExchangeHandler.self)
                return Connection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
            }
    }

    /// One exchange on `connection`, completed on the connection's loop.
    private func exchange(
        on connection: Connection, head: UpstreamRequestHead, body: ByteBuffer, deadline: NIODeadline, firstChunk: NIODeadline?, provider: String,
        cancellation: ExchangeCancellation
    ) -> EventLoopFuture<UpstreamReply> {
        let channel = connection.channel
        let loop = channel.eventLoop
        let start: @Sendable () -> EventLoopFuture<UpstreamReply> = { [self] in
            // A pooled connection the server closed after `takeIdle` looked at it has already
            // had its `channelInactive`: nothing would ever fail this exchange but its deadline
            // (a timeout counted against the provider). Checked here, on the connection's loop,
            // no close can come between this check and the writes without failing the exchange.
            guard channel.isActive else { return loop.makeFailedFuture(StaleConnection()) }
            guard cancellation.onCancel({ channel.close(promise: nil) }) else {
                putIdle(connection)  // never used: still good
                return loop.makeFailedFuture(CancellationError())
            }
            let promise = loop.makePromise(of: UpstreamReply.self)
            // Once the answer is in, the connection may serve another request: a later
            // cancellation must not close it.
            promise.futureResult.whenComplete { _ in _ = cancellation.onCancel(nil) }
            connection.handler.value.begin(promise: promise, connection: connection, deadline: deadline, firstChunk: firstChunk, pool: self)
            // The method-only head goes past the response decoder, which queues it to know
            // how the answer ends; the bytes go out as they are.
            channel.write(HTTPClientRequestPart.head(UpstreamRequestHead.decoderHead), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(head.encoded(bodyBytes: body.readableBytes, allocator: channel.allocator))), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            return promise.futureResult
        }
        // Usually on the connection's loop already (the pool hands out connections on the
        // caller's loop): started at once, without a scheduled task.
        let started = loop.inEventLoop ? start() : loop.flatSubmit(start)
        return started.flatMapErrorThrowing { error in
            if error is StaleConnection { throw error }
            // The caller went away (its cancellation closed the connection): not the provider's failure.
            if cancellation.isCancelled || error is CancellationError { throw CancellationError() }
            guard let failure = error as? UpstreamExchangeHandler.Failure else {
                throw UpstreamFailure(.connection, "\(provider) failed mid-answer (\(UpstreamCaller.describe(error)))")
            }
            switch failure {
            case .closedBeforeAnswer: throw StaleConnection()
            case .closedMidAnswer: throw UpstreamFailure(.connection, "\(provider) closed the connection mid-answer")
            case .timeout: throw UpstreamFailure(.timeout, "no answer from \(provider) within timeout_ms")
            case .firstChunkTimeout: throw UpstreamFailure(.timeout, "no first chunk from \(provider) within ttft_timeout_ms")
            case .tooLarge: throw UpstreamFailure(.invalidResponse, "\(provider) answered more than 64 MiB")
            }
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
    private var stream: PooledStream?
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var timer: Scheduled<Void>?
    private var deadline = NIODeadline.distantFuture
    private var streaming = false
    private var wantsStream = false
    private var connection: UpstreamConnectionPool.Connection?
    private var pool: UpstreamConnectionPool?

    func begin(
        promise: EventLoopPromise<UpstreamReply>, connection: UpstreamConnectionPool.Connection, deadline: NIODeadline, firstChunk: NIODeadline?,
        pool: UpstreamConnectionPool
    ) {
        self.promise = promise
        self.connection = connection
        self.pool = pool
        self.deadline = deadline
        head = nil
        body = ByteBuffer()  // no storage: the answer's first chunk is adopted as it is
        streaming = false
        wantsStream = firstChunk != nil
        arm(firstChunk ?? deadline, failure: firstChunk == nil ? .timeout : .firstChunkTimeout)
    }

    private func arm(_ at: NIODeadline, failure: Failure) {
        timer?.cancel()
        guard let connection else { return }
        let handler = connection.handler, channel = connection.channel
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
                    let stream = PooledStream(channel: context.channel)
                    self.stream = stream
                    arm(deadline, failure: .timeout)
                    promise.succeed(UpstreamReply(head: head, body: chunk, rest: stream))
                } else {
                    stream?.deliver(chunk)
                }
                return
            }
            guard body.readableBytes + chunk.readableBytes <= Self.maxBodyBytes else {
                fail(.tooLarge)
                context.close(promise: nil)
                return
            }
            if body.readableBytes == 0 {
                body = chunk  // the usual case: the whole answer in one read, no copy
            } else {
                body.writeBuffer(&chunk)
            }
        case .end:
            timer?.cancel()
            timer = nil
            let keepAlive = head?.isKeepAlive ?? false
            if let stream {
                self.stream = nil
                stream.finish(nil)
            } else if let promise, let head {
                self.promise = nil
                promise.succeed(UpstreamReply(head: head, body: body, rest: nil))
                body = ByteBuffer()
            }
            if keepAlive, let pool, let connection, context.channel.isActive {
                pool.putIdle(connection)
            } else {
                context.close(promise: nil)
            }
            pool = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(head == nil ? .closedBeforeAnswer : .closedMidAnswer)
        connection = nil  // it refers to this handler
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(head == nil ? .closedBeforeAnswer : .closedMidAnswer)
        connection = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(head == nil ? .closedBeforeAnswer : .closedMidAnswer)
        context.close(promise: nil)
    }

    private func fail(_ failure: Failure) {
        timer?.cancel()
        timer = nil
        pool = nil
        if let stream {
            self.stream = nil
            stream.finish(failure)
        }
        guard let promise else { return }
        self.promise = nil
        promise.fail(failure)
    }
}

/// The head of a POST of JSON to a provider, as HTTP/1.1 bytes built once per provider and
/// path: the request line, `host`, `content-type` and the extra headers, with only
/// `content-length` written per request. NIO's request encoder would rebuild and re-encode
/// the same fields for every request (about 7% of the gateway's instructions per request,
/// measured with callgrind). Names are fixed and values come from the configuration, checked
/// when it is loaded.
struct UpstreamRequestHead: Sendable {
    /// What the response decoder is told of each request: only the method matters to it
    /// (a `HEAD` answer has no body).
    static let decoderHead = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/")

    private let prefix: ByteBuffer

    init(path: String, host: String, headers extra: [(String, String)]) {
        var text = "POST \(path) HTTP/1.1\r\nhost: \(host)\r\ncontent-type: application/json\r\n"
        for (name, value) in extra { text += "\(name): \(value)\r\n" }
        text += "content-length: "
        prefix = ByteBuffer(string: text)
    }

    /// The whole head for a body of `bodyBytes` bytes.
    func encoded(bodyBytes: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: prefix.readableBytes + 24)
        out.writeImmutableBuffer(prefix)
        out.writeString(String(bodyBytes))
        out.writeStaticString("\r\n\r\n")
        return out
    }
}

/// Sends a pooled connection's request bytes on as they are: the head part only informs the
/// response decoder (it has been written as bytes in a body part already, see
/// ``UpstreamRequestHead``), and the end is implicit in `content-length`.
final class RawRequestEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .body(let bytes): context.write(wrapOutboundOut(bytes), promise: promise)
        case .head, .end: promise?.succeed()
        }
    }
}
