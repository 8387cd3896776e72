@testable import CopilotGateway
import CopilotCore
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOPosix
import ServiceLifecycle
import Testing

/// The channel-handler fast path against the router's path on raw HTTP/1.1 connections:
/// pipelined requests answered in order across both, `Connection: close`, the body limit,
/// and a graceful shutdown that lets an in-flight request finish.
@Suite struct ChatFastPathTests {
    /// Runs a gateway (fast path on or off) on a free port; `body` gets the port and a way to
    /// start a graceful shutdown.
    static func withGateway<T: Sendable>(
        _ settings: RouteSettings, fastPath: Bool, _ body: @escaping @Sendable (Int, @escaping @Sendable () async -> Void) async throws -> T
    ) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let options = GatewayOptions(host: "127.0.0.1", port: 0, environment: [:], logLevel: .critical, fastPath: fastPath)
        let (application, _) = buildApplication(settings: settings, selector: HealthWeightedSelector(), options: options) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(services: [application], logger: Logger(label: "fast-path-test"))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var port = 0
            for await p in ports { port = p }
            let value = try await body(port) { await group.triggerGracefulShutdown() }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return value
        }
    }

    /// Sends `raw` on one connection and returns everything the server sends until it closes
    /// (or until 10 s have passed: then the connection is closed and the test sees what came).
    static func exchange(port: Int, _ raw: String) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let connection = channel.channel
        let timer = connection.eventLoop.scheduleTask(in: .seconds(10)) { connection.close(promise: nil) }
        defer { timer.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: raw))
            var all = ""
            for try await chunk in inbound { all += String(buffer: chunk) }
            return all
        }
    }

    static func post(_ body: String, close: Bool = false) -> String {
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            + (close ? "Connection: close\r\n" : "") + "\r\n" + body
    }

    static let chat = #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#

    /// The status codes of the answers, in order (a body ends without a line break, so the
    /// next answer's status line follows it directly; reason phrases differ between versions).
    static func statusLines(_ text: String) -> [Int] {
        text.matches(of: #/HTTP/1\.1 (\d{3}) /#).map { Int($0.1)! }
    }

    @Test(arguments: [true, false]) func pipelinedRequestsAreAnsweredInOrder(fastPath: Bool) async throws {
        try await FakeUpstream.run([FakeUpstream(.answer("first"))]) { urls in
            try await Self.withGateway(try GatewayTest.settings(urls: urls), fastPath: fastPath) { port, _ in
                let raw = Self.post(Self.chat) + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + Self.post("{", close: false)
                    + "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n" + Self.post(Self.chat, close: true)
                let text = try await Self.exchange(port: port, raw)
                #expect(Self.statusLines(text) == [200, 200, 400, 200, 200], "\(text)")
                let health = text.range(of: "\"providers\"")!.lowerBound, models = text.range(of: "\"object\":\"list\"")!.lowerBound
                let answers = text.ranges(of: "\"content\":\"first\"").map(\.lowerBound)
                #expect(answers.count == 2 && answers[0] < health && health < models && models < answers[1])
                #expect(text.lowercased().components(separatedBy: "x-copilot-request-id:").count == 4, "every chat answer has a request id")
            }
        }
    }

    /// A stream, a stream that breaks off, and a whole answer pipelined on one connection:
    /// each is chunked and ended on its own, in order, and the connection serves on (the fast
    /// path relays streams from the loop; the router's path writes them from a task).
    @Test(arguments: [true, false]) func pipelinedStreamsAreChunkedAndEndedInOrder(fastPath: Bool) async throws {
        let words = FakeBehaviour.stream(words: ["one ", "two ", "three"], delayMs: 5)
        let upstream = FakeUpstream(.answer("fine"), first: [words, words, .dropStream(afterChunks: 2)])
        try await FakeUpstream.run([upstream]) { urls in
            try await Self.withGateway(try GatewayTest.settings(urls: urls), fastPath: fastPath) { port, _ in
                let stream = #"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
                let text = try await Self.exchange(port: port, Self.post(stream) + Self.post(stream, close: true))
                #expect(Self.statusLines(text) == [200, 200], "\(text)")
                let answers = text.components(separatedBy: "HTTP/1.1 ").dropFirst()
                for answer in answers {
                    #expect(answer.lowercased().contains("transfer-encoding: chunked\r\n"), "\(answer)")
                    #expect(answer.hasSuffix("\r\n0\r\n\r\n"), "each stream ends with the last chunk: \(answer)")
                    let body = answer.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
                    var decoder = ChatStreamDecoder()
                    let words = decoder.feed(Array(Self.dechunked(body).utf8)).joined()
                    #expect(words == "one two three" && decoder.done, "\(answer)")
                }
                let broken = try await Self.exchange(port: port, Self.post(stream) + Self.post(Self.chat, close: true))
                #expect(Self.statusLines(broken) == [200, 200], "\(broken)")
                #expect(broken.contains("the stream broke off") && broken.hasSuffix(#""content":"fine"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#), "\(broken)")
                #expect(broken.components(separatedBy: "\r\n0\r\n\r\n").count == 2, "the broken stream is ended: \(broken)")
            }
        }
    }

    /// A chunked body's data (chunk sizes and framing removed).
    static func dechunked(_ body: String) -> String {
        var rest = Substring(body), out = ""
        while let line = rest.range(of: "\r\n"), let size = Int(rest[..<line.lowerBound], radix: 16), size > 0 {
            let start = rest.utf8.index(line.upperBound, offsetBy: 0)
            let end = rest.utf8.index(start, offsetBy: size)
            out += String(rest[start..<end])
            rest = rest[rest.utf8.index(end, offsetBy: 2)...]
        }
        return out
    }

    @Test(arguments: [true, false]) func aBodyOverTheLimitIsRefusedAndTheConnectionServesOn(fastPath: Bool) async throws {
        try await FakeUpstream.run([FakeUpstream(.answer("ok"))]) { urls in
            try await Self.withGateway(try GatewayTest.settings(urls: urls, route: "max_body_bytes = 1024"), fastPath: fastPath) { port, _ in
                let big = #"{"model":"m","messages":[{"role":"user","content":""# + String(repeating: "x", count: 3000) + #""}]}"#
                let text = try await Self.exchange(port: port, Self.post(big) + Self.post(Self.chat, close: true))
                let lines = Self.statusLines(text)
                #expect(lines.first == 413, "\(text)")
                if fastPath { #expect(lines == [413, 200], "\(text)") }
                #expect(text.contains("\"code\":\"body_too_large\"") || text.contains("body_too_large"), "\(text)")
            }
        }
    }

    @Test(arguments: [true, false]) func aGracefulShutdownLetsAnInFlightRequestFinish(fastPath: Bool) async throws {
        let upstream = FakeUpstream(.slow(ms: 1000))
        try await FakeUpstream.run([upstream]) { urls in
            try await Self.withGateway(try GatewayTest.settings(urls: urls), fastPath: fastPath) { port, shutdown in
                async let answer = Self.exchange(port: port, Self.post(Self.chat))
                // The shutdown starts once the request is upstream (in flight), however loaded the machine.
                while upstream.requests == 0 { try await Task.sleep(nanoseconds: 2_000_000) }
                await shutdown()
                let text = try await answer
                #expect(Self.statusLines(text) == [200], "\(text)")
                #expect(text.contains("\"content\":\"slow\""))
            }
        }
    }

    @Test(arguments: [true, false]) func aClientThatGoesAwayIsCountedAsClosedNotAsAnError(fastPath: Bool) async throws {
        let upstream = FakeUpstream(.slow(ms: 2000))
        try await FakeUpstream.run([upstream]) { urls in
            try await Self.withGateway(try GatewayTest.settings(urls: urls), fastPath: fastPath) { port, _ in
                // More clients going away than the breaker's failure count: none of it is the
                // provider's fault, so its breaker stays closed and it keeps answering.
                let gone = 8
                for i in 1...gone {
                    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
                    try await channel.writeAndFlush(ByteBuffer(string: Self.post(Self.chat))).get()
                    for _ in 0..<1000 where upstream.requests < i { try await Task.sleep(nanoseconds: 10_000_000) }
                    try await channel.close().get()
                    guard upstream.requests >= i else {
                        Issue.record("request \(i) never reached the upstream: its breaker opened on clients going away")
                        return
                    }
                }
                // The fast path cancels the request (499); Hummingbird's router lets it finish (200).
                let counted = "copilot_requests_total{status=\"\(fastPath ? 499 : 200)\"} \(gone)"
                var metrics = ""
                for _ in 0..<500 where !metrics.contains(counted) {
                    try await Task.sleep(nanoseconds: 10_000_000)
                    metrics = try await Self.exchange(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                }
                #expect(metrics.contains(counted), "\(metrics)")
                #expect(!metrics.contains("copilot_requests_total{status=\"502\"}"), "\(metrics)")
                #expect(metrics.contains("copilot_provider_errors_total{provider=\"u0\"} 0"), "\(metrics)")
                #expect(metrics.contains("copilot_breaker_state{provider=\"u0\"} 0"), "\(metrics)")
            }
        }
    }

    /// The bytes the fast path writes for a whole answer are those Hummingbird's codecs
    /// (HTTPTypes to NIO, then NIO's response encoder) write for the same head and body.
    @Test(arguments: [
        (200, [("content-type", "application/json"), ("x-copilot-provider", "u0"), ("x-copilot-request-id", "req-1")], #"{"id":"x"}"#),
        (429, [("content-type", "application/json"), ("X-Copilot-Request-Id", "r"), ("www-authenticate", "Bearer")], #"{"error":{}}"#),
        (502, [], ""),
        (200, [("x-copilot-provider", "bad\r\nset-cookie: x"), ("x-copilot-tuned", " a\u{7F}b\tc\n")], "{}"),
    ])
    func aRawAnswerIsWhatTheEncodersWrite(status: Int, fields: [(String, String)], body: String) throws {
        var replyHeaders = ReplyHeaders()
        for (name, value) in fields { replyHeaders[HTTPField.Name(name)!] = value }
        let headers = replyHeaders.httpFields
        let reply = ChatCompletions<HealthWeightedSelector>.Reply(status: status, headers: replyHeaders, body: ByteBuffer(string: body))
        let raw = ChatFastPath<HealthWeightedSelector>.encoded(reply, allocator: ByteBufferAllocator())

        var head = HTTPResponse(status: .init(code: status), headerFields: headers)
        head.headerFields[.server] = "copilot"
        head.headerFields[.contentLength] = String(body.utf8.count)
        let encoded = try Self.encodedByNIO(HTTP1ToHTTPServerCodec(secure: false)) { channel in
            try channel.writeOutbound(HTTPResponsePart.head(head))
            if !body.isEmpty { try channel.writeOutbound(HTTPResponsePart.body(ByteBuffer(string: body))) }
            try channel.writeOutbound(HTTPResponsePart.end(nil))
        }
        #expect(String(buffer: raw) == encoded)
        #expect(String(buffer: raw).hasPrefix("HTTP/1.1 \(status) "))
    }

    /// What NIO's response encoder (behind `codec`, if any) writes for the parts `write` writes.
    static func encodedByNIO(_ codec: (any ChannelHandler)? = nil, _ write: (EmbeddedChannel) throws -> Void) throws -> String {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder(configuration: .init()))
        if let codec { try channel.pipeline.syncOperations.addHandler(codec) }
        try write(channel)
        var encoded = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { encoded.writeBuffer(&part) }
        _ = try channel.finish()
        return String(buffer: encoded)
    }

    /// The bytes the fast path writes for a relayed stream (head and first chunk, each later
    /// chunk, the end) are those NIO's response encoder writes for the same parts, as the
    /// stream's task path writes them.
    @Test(arguments: [[#"data: {"a":1}\#n\#n"#], [#"data: {"id":"c"}\#n\#n"#, String(repeating: "x", count: 300), "data: [DONE]\n\n"]])
    func aRelayedStreamIsWhatTheEncoderWrites(chunks: [String]) throws {
        var replyHeaders = ReplyHeaders()
        replyHeaders[CopilotHeaders.provider] = "u0"
        replyHeaders[.contentType] = "text/event-stream"
        replyHeaders[.cacheControl] = "no-cache"
        let reply = ChatCompletions<HealthWeightedSelector>.Reply(status: 200, headers: replyHeaders, body: ByteBuffer())
        var raw = ChatFastPath<HealthWeightedSelector>.encodedStreamStart(reply, first: ByteBuffer(string: chunks[0]), allocator: ByteBufferAllocator())
        for chunk in chunks.dropFirst() { ChatFastPath<HealthWeightedSelector>.appendChunk(ByteBuffer(string: chunk), to: &raw) }
        raw.writeStaticString(ChatFastPath<HealthWeightedSelector>.chunkedEnd)

        let encoded = try Self.encodedByNIO { channel in
            try channel.writeOutbound(HTTPServerResponsePart.head(ChatFastPath<HealthWeightedSelector>.responseHead(reply, streamed: true)))
            for chunk in chunks { try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: chunk)))) }
            try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        }
        #expect(String(buffer: raw) == encoded)
        #expect(String(buffer: raw).contains("transfer-encoding: chunked\r\n\r\n"))
    }

    /// An answer's headers keep the order they were set in, replace in place, and never let a
    /// value end its line.
    @Test func replyHeadersReplaceInPlaceAndStayOnTheirLine() {
        var headers = ReplyHeaders()
        headers[.contentType] = "application/json"
        headers[GatewayCache.header] = "miss"
        headers[.contentType] = "text/event-stream"
        #expect(headers.fields.map(\.name.rawName) == ["Content-Type", "x-copilot-cache"])
        #expect(headers[.contentType] == "text/event-stream")
        headers[GatewayCache.header] = nil
        #expect(headers.fields.count == 1 && headers[GatewayCache.header] == nil)
        headers[CopilotHeaders.provider] = "up\r\nx-evil: 1"
        #expect(headers[CopilotHeaders.provider] == "up  x-evil: 1")
        #expect(headers.httpFields[CopilotHeaders.provider] == "up  x-evil: 1")
        headers[CopilotHeaders.tuned] = "\t a\u{7F}b\tc\r\n"
        #expect(headers[CopilotHeaders.tuned] == "a b\tc", "as HTTPTypes makes it legal")
        #expect(headers.httpFields[CopilotHeaders.tuned] == "a b\tc")
    }

    @Test func onlyTheChatPathIsTaken() {
        #expect(ChatFastPath<HealthWeightedSelector>.isChatPath("/v1/chat/completions"))
        #expect(ChatFastPath<HealthWeightedSelector>.isChatPath("/v1/chat/completions?x=1"))
        #expect(!ChatFastPath<HealthWeightedSelector>.isChatPath("/v1/chat/completions/x"))
        #expect(!ChatFastPath<HealthWeightedSelector>.isChatPath("/v1/models"))
        #expect(!ChatFastPath<HealthWeightedSelector>.isChatPath(nil))
    }
}
