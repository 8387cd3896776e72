import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An OpenAI-compatible upstream on 127.0.0.1 that drops keep-alive connections the way real
/// servers do, by what it does rather than by a timer (a timer would race the test on a
/// loaded machine): each answer says keep-alive, then the connection is closed.
final class ClosingUpstream: Sendable {
    enum Mode: Sendable {
        /// Answers, then closes the connection as soon as the answer is written: the next
        /// request finds a pooled connection that is closed or closing.
        case closeAfterAnswer
        /// Answers the first request on a connection and closes it, unanswered, when a second
        /// one arrives: a server whose keep-alive timer fired just as the request was sent.
        case dropSecondRequest
    }

    final class Counters: Sendable {
        let requests = Atomic<Int>(0)
        let connections = Atomic<Int>(0)
    }

    private let counters = Counters()
    private let channel: any Channel
    /// Requests received, answered or not.
    var requests: Int { counters.requests.load(ordering: .relaxed) }
    /// Connections accepted.
    var connections: Int { counters.connections.load(ordering: .relaxed) }
    var port: Int { channel.localAddress?.port ?? 0 }
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    init(_ mode: Mode, content: String = "again") async throws {
        let counters = counters
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counters.connections.add(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(mode: mode, content: content, counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async throws { try await channel.close() }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        private let mode: Mode
        private let content: String
        private let counters: Counters
        private var served = 0

        init(mode: Mode, content: String, counters: Counters) {
            self.mode = mode
            self.content = content
            self.counters = counters
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            counters.requests.add(1, ordering: .relaxed)
            served += 1
            if mode == .dropSecondRequest && served > 1 {
                context.close(promise: nil)
                return
            }
            let body = ByteBuffer(string: FakeUpstream.completion(content, model: "m"))
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(body.readableBytes))
            headers.add(name: "connection", value: "keep-alive")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
            if mode == .closeAfterAnswer {
                let channel = context.channel
                written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }
}
