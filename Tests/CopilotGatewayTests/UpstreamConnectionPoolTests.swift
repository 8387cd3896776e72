@testable import CopilotGateway
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing

/// What a stream's reader was given, in order.
private final class Seen: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ item: String) { list.withLock { $0.append(item) } }
    var all: [String] { list.withLock { $0 } }
}

/// The keep-alive pool against an upstream that drops connections as they are reused.
@Suite struct UpstreamConnectionPoolTests {
    /// A stream's chunks that came before its reader attached reach it first, in order, then
    /// the rest and the end, once; a reader's pause stops the connection's reads, and the
    /// end turns them back on.
    @Test func aPooledStreamKeepsEarlyChunksAndPassesOnTheRestInOrder() throws {
        let channel = EmbeddedChannel()
        let stream = PooledStream(channel: channel)
        stream.deliver(ByteBuffer(string: "a"))
        stream.deliver(ByteBuffer(string: "b"))
        let seen = Seen()
        stream.attach(on: channel.eventLoop, chunk: { seen.add(String(buffer: $0)) }, end: { seen.add($0 == nil ? "end" : "failed") })
        #expect(seen.all == ["a", "b"])
        stream.setReading(false)
        #expect(stream.readsStopped)
        stream.deliver(ByteBuffer(string: "c"))
        stream.finish(nil)
        stream.finish(UpstreamExchangeHandler.Failure.closedMidAnswer)  // after the end: ignored
        stream.setReading(false)  // after the end: ignored
        #expect(seen.all == ["a", "b", "c", "end"])
        #expect(!stream.readsStopped, "the connection can serve the next request")
        _ = try channel.finish()
    }

    /// A stream that failed before its reader attached hands over its chunks, then the failure.
    @Test func aPooledStreamThatFailedEarlyStillGivesItsChunksThenTheFailure() throws {
        let channel = EmbeddedChannel()
        let stream = PooledStream(channel: channel)
        stream.deliver(ByteBuffer(string: "a"))
        stream.finish(UpstreamExchangeHandler.Failure.closedMidAnswer)
        let seen = Seen()
        stream.attach(on: channel.eventLoop, chunk: { seen.add(String(buffer: $0)) }, end: { seen.add($0 == nil ? "end" : "failed") })
        #expect(seen.all == ["a", "failed"])
        _ = try channel.finish()
    }

    /// The timeout is long because it is not what is tested: a suite run in parallel on two
    /// cores can keep a request waiting for seconds. A request the pool lost still fails.
    static func postMany(_ upstream: ClosingUpstream, count: Int, pauseNs: UInt64) async throws {
        let pool = UpstreamConnectionPool(host: "127.0.0.1", port: upstream.port, maxIdle: 4)
        defer { pool.shutdown() }
        for i in 0..<count {
            // Every request after the first finds the previous one's connection in the pool,
            // closed or about to be: each must still succeed, on a new connection.
            let reply = try await pool.post(
                head: pool.requestHead(path: "/v1/chat/completions", headers: []), body: ByteBuffer(string: "{}"), timeoutNs: 60_000_000_000,
                provider: "p")
            #expect(reply.head.status == .ok, "request \(i)")
            #expect(String(buffer: reply.body).contains("again"), "request \(i)")
            if pauseNs > 0 { try await Task.sleep(nanoseconds: pauseNs) }
        }
    }

    /// The request bytes the pool writes are what NIO's request encoder writes for the same
    /// head, and the response decoder still reads the answer (it is told each request's method).
    @Test(arguments: [[], [("accept", "application/json"), ("authorization", "Bearer sk-test")]] as [[(String, String)]])
    func aRawRequestIsWhatNIOsEncoderWrites(extra: [(String, String)]) throws {
        let body = ByteBuffer(string: #"{"model":"m","messages":[]}"#)
        let head = UpstreamRequestHead(path: "/v1/chat/completions", host: "127.0.0.1:8080", headers: extra)
        let raw = head.encoded(bodyBytes: body.readableBytes, allocator: ByteBufferAllocator())

        var fields = HTTPHeaders([("host", "127.0.0.1:8080"), ("content-type", "application/json")])
        for (name, value) in extra { fields.add(name: name, value: value) }
        fields.add(name: "content-length", value: String(body.readableBytes))
        let channel = EmbeddedChannel(handler: HTTPRequestEncoder())
        try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions", headers: fields)))
        var encoded = ByteBuffer()
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(var bytes) = part else { Issue.record("a file region"); return }
            encoded.writeBuffer(&bytes)
        }
        #expect(String(buffer: raw) == String(buffer: encoded))
        _ = try channel.finish()

        // Through the pool's own pipeline: the head part becomes nothing, the bytes go out as
        // they are, and the answer is decoded.
        let pooled = EmbeddedChannel()
        try pooled.pipeline.syncOperations.addHandler(RawRequestEncoder())
        try pooled.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
        try pooled.writeOutbound(HTTPClientRequestPart.head(UpstreamRequestHead.decoderHead))
        try pooled.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(raw)))
        try pooled.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(body)))
        var written = ""
        while let part = try pooled.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let bytes) = part else { Issue.record("a file region"); return }
            written += String(buffer: bytes)
        }
        #expect(written == String(buffer: raw) + String(buffer: body))
        try pooled.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"))
        guard case .head(let answer) = try pooled.readInbound(as: HTTPClientResponsePart.self) else {
            Issue.record("no answer head")
            return
        }
        #expect(answer.status == .ok)
        guard case .body(let answerBody) = try pooled.readInbound(as: HTTPClientResponsePart.self) else {
            Issue.record("no answer body")
            return
        }
        #expect(String(buffer: answerBody) == "{}")
        _ = try pooled.finish()
    }

    @Test func aReusedConnectionDroppedWhenTheRequestArrivesIsRetriedOnAFreshOne() async throws {
        let upstream = try await ClosingUpstream(.dropSecondRequest)
        try await Self.postMany(upstream, count: 5, pauseNs: 0)
        // Each connection answers one request; any request sent on a reused one was dropped
        // and sent again on a fresh connection.
        #expect(upstream.connections == 5)
        #expect(upstream.requests >= 5)
        try await upstream.close()
    }

    @Test(arguments: [0, 1_000_000, 20_000_000] as [UInt64])
    func aConnectionTheUpstreamClosedAfterAnsweringIsNeverAFailure(pauseNs: UInt64) async throws {
        // With no pause the close races the next request on the connection's loop; with a
        // pause the pool finds the connection already closed.
        let upstream = try await ClosingUpstream(.closeAfterAnswer)
        try await Self.postMany(upstream, count: 20, pauseNs: pauseNs)
        #expect(upstream.requests >= 20)
        try await upstream.close()
    }
}
