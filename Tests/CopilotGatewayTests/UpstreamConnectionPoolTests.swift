@testable import CopilotGateway
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// The keep-alive pool against an upstream that drops a connection just as it is reused.
@Suite struct UpstreamConnectionPoolTests {
    /// Requests the upstream has seen.
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Answers the first request on each connection and closes the connection, unanswered,
    /// when a second request comes on it: what a server whose keep-alive timer fired at that
    /// moment does.
    final class AnswerOncePerConnection: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        private var served = 0
        private let requests: Counter

        init(requests: Counter) { self.requests = requests }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            requests.value.add(1, ordering: .relaxed)
            served += 1
            guard served == 1 else {
                context.close(promise: nil)
                return
            }
            let body = ByteBuffer(string: #"{"ok":true}"#)
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(body.readableBytes))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }

    @Test func aReusedConnectionClosedBeforeAnsweringIsRetriedOnAFreshOne() async throws {
        let requests = Counter()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AnswerOncePerConnection(requests: requests))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let pool = UpstreamConnectionPool(host: "127.0.0.1", port: server.localAddress?.port ?? 0, maxIdle: 4)
        defer {
            pool.shutdown()
            server.close(promise: nil)
        }
        for i in 0..<5 {
            // Every request after the first finds the previous one's connection in the pool,
            // and the server drops it: each must still succeed, on a new connection.
            let reply = try await pool.post(
                path: "/v1/chat/completions", body: ByteBuffer(string: "{}"), headers: [], timeoutNs: 5_000_000_000, provider: "p")
            #expect(reply.head.status == .ok, "request \(i)")
            #expect(String(buffer: reply.body) == #"{"ok":true}"#)
        }
        #expect(requests.value.load(ordering: .relaxed) > 5, "reused connections were dropped and the requests still answered")
    }
}
