@testable import CopilotGateway
import CopilotCore
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// The answers made on the event loop with callbacks (no task): which requests take that
/// path, and a client that leaves while a retry waits out its backoff.
@Suite struct ChatOnLoopTests {
    /// Calls `body` with a gateway over a plain-HTTP provider ("m"), a mock one ("mock-m")
    /// and an https one ("tls-m"); nothing is called.
    static func withChat(_ body: (ChatCompletions<HealthWeightedSelector>) throws -> Void) async throws {
        let settings = try GatewayTest.settings(
            urls: ["http://127.0.0.1:9/v1"],
            extra: """
                [[route.providers]]
                name = "mock"
                kind = "mock"
                models = ["mock-m"]
                [[route.providers]]
                name = "tls"
                base_url = "https://127.0.0.1:9/v1"
                models = ["tls-m"]
                """)
        let client = makeUpstreamClient()
        let gateway = Gateway(
            settings: settings, selector: HealthWeightedSelector(), client: client, authToken: nil, environment: [:],
            logger: Logger(label: "on-loop-test"))
        do {
            try body(ChatCompletions(gateway: gateway))
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    static func prepared(_ chat: ChatCompletions<HealthWeightedSelector>, model: String, stream: Bool = false) throws -> ChatCompletions<HealthWeightedSelector>.Prepared {
        let headers = ChatHeaders(GatewayTest.jsonHeaders)
        try chat.checkHeaders(headers)
        return try chat.prepare(headers: headers, body: GatewayTest.chatBody(model: model, stream: stream), requestID: "r", startNs: monotonicNanoseconds())
    }

    @Test func onlyAnswersFromPlainHTTPProvidersAreMadeOnTheLoop() async throws {
        try await Self.withChat { chat in
            let plain = try Self.prepared(chat, model: "m"), stream = try Self.prepared(chat, model: "m", stream: true)
            let mock = try Self.prepared(chat, model: "mock-m"), tls = try Self.prepared(chat, model: "tls-m")
            let mockStream = try Self.prepared(chat, model: "mock-m", stream: true)
            #expect(chat.answersOnLoop(plain, streams: false))
            #expect(chat.answersOnLoop(stream, streams: true), "a stream is relayed from the loop")
            #expect(!chat.answersOnLoop(stream, streams: false), "a stream runs in a task when the server cannot relay it")
            #expect(!chat.answersOnLoop(mock, streams: true), "a mock provider answers in a task")
            #expect(!chat.answersOnLoop(mockStream, streams: true), "a mock provider streams in a task")
            #expect(!chat.answersOnLoop(tls, streams: true), "https goes through AsyncHTTPClient")
        }
    }

    @Test func theContentTypeCheckIgnoresCaseAndParameters() {
        for good in ["application/json", "Application/JSON", "application/json; charset=utf-8"] {
            #expect(ChatCompletions<HealthWeightedSelector>.isJSON(good), "\(good)")
        }
        for bad in ["", "application/jso", "text/plain", "application/x-json", "applicationXjson"] {
            #expect(!ChatCompletions<HealthWeightedSelector>.isJSON(bad), "\(bad)")
        }
    }

    /// The fast path reads NIO's headers in one pass: names in any case, a field given twice
    /// joined as HTTPTypes joins it, the same values as from Hummingbird's `HTTPFields`.
    @Test func headersReadFromNIOAreTheHeadersReadFromHTTPTypes() {
        let fields: [(String, String)] = [
            ("Host", "x"), ("Content-Type", "application/json"), ("AUTHORIZATION", "Bearer t"), ("x-copilot-task", "summary"),
            ("X-Copilot-Cache", "no-store"), ("x-copilot-task", "again"), ("content-length", "2"),
        ]
        let nio = ChatHeaders(HTTPHeaders(fields))
        var httpFields = HTTPFields()
        for (name, value) in fields { httpFields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let typed = ChatHeaders(httpFields)
        #expect(nio.contentType == "application/json")
        #expect(nio.authorization == "Bearer t")
        #expect(nio.task == "summary, again")
        #expect(nio.cache == "no-store")
        for (a, b) in [(nio.contentType, typed.contentType), (nio.authorization, typed.authorization), (nio.task, typed.task), (nio.cache, typed.cache)] {
            #expect(a == b)
        }
        let none = ChatHeaders(HTTPHeaders([("content-typo", "application/json"), ("authorization-x", "y")]))
        #expect(none.contentType == nil && none.authorization == nil && none.task == nil && none.cache == nil)
    }

    @Test func aClientThatLeavesDuringABackoffIsCountedAsClosedAtOnce() async throws {
        // The provider asks for a 60 s wait; the request's deadline allows it, so the gateway
        // waits. The client leaves: the request must end then (499), not after the wait.
        let upstream = FakeUpstream(.fail(status: 429, retryAfter: "60"))
        try await FakeUpstream.run([upstream]) { urls in
            let settings = try GatewayTest.settings(urls: urls, route: "request_timeout_ms = 120000")
            try await ChatFastPathTests.withGateway(settings, fastPath: true) { port, _ in
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
                try await channel.writeAndFlush(ByteBuffer(string: ChatFastPathTests.post(ChatFastPathTests.chat))).get()
                for _ in 0..<1000 where upstream.requests < 1 { try await Task.sleep(nanoseconds: 10_000_000) }
                #expect(upstream.requests == 1)
                try await channel.close().get()
                let counted = "copilot_requests_total{status=\"499\"} 1"
                var metrics = ""
                for _ in 0..<1000 where !metrics.contains(counted) {
                    try await Task.sleep(nanoseconds: 10_000_000)
                    metrics = try await ChatFastPathTests.exchange(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                }
                #expect(metrics.contains(counted), "\(metrics)")
                #expect(upstream.requests == 1, "no attempt after the client left")
            }
        }
    }
}
