import CopilotCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A whole HTTP/1.1 answer from an upstream.
struct UpstreamReply: Sendable {
    var head: HTTPResponseHead
    var body: ByteBuffer
}

/// The non-streamed hot path to a plain-HTTP provider: a pool of keep-alive connections
/// (TCP_NODELAY) driven by one small channel handler each, with no Swift task per request:
/// the request is written in one flush, the answer collected on the connection's event loop,
/// and the attempt deadline is a timer on that loop. Streams, and `https` providers, go
/// through AsyncHTTPClient instead.
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
    func post(path: String, body: ByteBuffer, headers extra: [(String, String)], timeoutNs: UInt64, provider: String) async throws -> UpstreamReply {
        var headers = HTTPHeaders()
        headers.reserveCapacity(5 + extra.count)
        headers.add(name: "host", value: hostHeader)
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(body.readableBytes))
        for (name, value) in extra { headers.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeoutNs))
        // A reused connection the server has just closed fails before any answer: try a
        // fresh one once.
        if let channel = takeIdle() {
            do {
                return try await exchange(on: channel, head: head, body: body, deadline: deadline, provider: provider)
            } catch let failure as StaleConnection {
                _ = failure
            }
        }
        let channel: any Channel
        do {
            channel = try await connect(deadline: deadline)
        } catch {
            throw UpstreamFailure(.connection, "cannot reach \(provider) (\(UpstreamCaller.describe(error)))")
        }
        do {
            return try await exchange(on: channel, head: head, body: body, deadline: deadline, provider: provider)
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

    private func putIdle(_ channel: any Channel) {
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

    private func exchange(on channel: any Channel, head: HTTPRequestHead, body: ByteBuffer, deadline: NIODeadline, provider: String) async throws -> UpstreamReply {
        let promise = channel.eventLoop.makePromise(of: UpstreamReply.self)
        let start: EventLoopFuture<Void> = channel.eventLoop.submit {
            let handler = try channel.pipeline.syncOperations.handler(type: UpstreamExchangeHandler.self)
            handler.begin(promise: promise, channel: channel, deadline: deadline)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        do {
            try await start.get()
        } catch {
            throw StaleConnection()
        }
        let reply: UpstreamReply
        do {
            reply = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } catch let error as UpstreamExchangeHandler.Failure {
            switch error {
            case .closedBeforeAnswer: throw StaleConnection()
            case .closedMidAnswer: throw UpstreamFailure(.connection, "\(provider) closed the connection mid-answer")
            case .timeout: throw UpstreamFailure(.timeout, "no answer from \(provider) within timeout_ms")
            case .tooLarge: throw UpstreamFailure(.invalidResponse, "\(provider) answered more than 64 MiB")
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw UpstreamFailure(.connection, "\(provider) failed mid-answer (\(UpstreamCaller.describe(error)))")
        }
        if reply.head.isKeepAlive && channel.isActive {
            putIdle(channel)
        } else {
            channel.close(promise: nil)
        }
        return reply
    }
}

/// The per-connection state machine of ``UpstreamConnectionPool``: one request at a time,
/// the answer collected into one buffer, the deadline a timer on the connection's loop.
final class UpstreamExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    enum Failure: Error {
        /// Closed before the first byte of the answer (a stale keep-alive connection).
        case closedBeforeAnswer
        case closedMidAnswer
        case timeout
        case tooLarge
    }

    static let maxBodyBytes = 64 << 20
    private var promise: EventLoopPromise<UpstreamReply>?
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var timer: Scheduled<Void>?

    func begin(promise: EventLoopPromise<UpstreamReply>, channel: any Channel, deadline: NIODeadline) {
        self.promise = promise
        head = nil
        body.clear()
        let handler = NIOLoopBound(self, eventLoop: channel.eventLoop)
        timer = channel.eventLoop.scheduleTask(deadline: deadline) {
            handler.value.fail(.timeout)
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
        case .body(var chunk):
            guard body.readableBytes + chunk.readableBytes <= Self.maxBodyBytes else {
                fail(.tooLarge)
                context.close(promise: nil)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard let promise, let head else { return }
            self.promise = nil
            timer?.cancel()
            timer = nil
            promise.succeed(UpstreamReply(head: head, body: body))
            body = ByteBuffer()
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
        guard let promise else { return }
        self.promise = nil
        promise.fail(failure)
    }
}
