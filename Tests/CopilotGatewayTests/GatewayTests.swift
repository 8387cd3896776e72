import CopilotCore
import CopilotGateway
import Foundation
import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The gateway against fake OpenAI-compatible upstreams on loopback: answers, failures,
/// hangs, slow and broken streams.
@Suite struct GatewayTests {
    @Test func answersAndForwardsTheKeyAndTheUpstreamModel() async throws {
        let up = FakeUpstream(.answer("hi there"))
        try await FakeUpstream.run([up]) { urls in
            var settings = try GatewayTest.settings(urls: urls, providerKeys: [0: "aliases = [\"chat\"]\napi_key_env = \"FAKE_KEY\""])
            settings.providers[0].models = ["real-model", "m"]
            try await GatewayTest.withGateway(settings, environment: ["FAKE_KEY": "sk-secret-42"]) { client in
                let r = try await GatewayTest.post(client, body: GatewayTest.chatBody(model: "chat"))
                #expect(r.status == .ok)
                #expect(GatewayTest.content(r) == "hi there")
                #expect(r.headers[GatewayTest.providerHeader] == "u0")
                #expect(r.headers[GatewayTest.requestIDHeader]?.hasPrefix("req-") == true)
                #expect(r.headers[GatewayTest.overheadHeader].flatMap(Int.init) != nil)
                #expect(up.lastAuthorization == "Bearer sk-secret-42")
                #expect(up.lastModel == "real-model", "the alias is sent as the provider's first model")
                let second = try await GatewayTest.post(client)
                #expect(second.headers[GatewayTest.requestIDHeader] != r.headers[GatewayTest.requestIDHeader])
                #expect(up.lastModel == "m")

                // The key never shows in metrics or health.
                let metrics = try await client.execute(uri: "/metrics", method: .get)
                let health = try await client.execute(uri: "/health", method: .get)
                #expect(!String(buffer: metrics.body).contains("sk-secret") && !String(buffer: health.body).contains("sk-secret"))
                #expect(String(buffer: metrics.body).contains("copilot_requests_total{status=\"200\"} 2"))
            }
        }
    }

    @Test func failsOverFromA500AndA429() async throws {
        let failing = FakeUpstream(.fail(status: 500, retryAfter: nil))
        let limited = FakeUpstream(.fail(status: 429, retryAfter: "30"))
        let good = FakeUpstream(.answer("ok"))
        try await FakeUpstream.run([failing, limited, good]) { urls in
            // Weights make the good one last in the ranking most of the time; whatever the
            // order, every request must end at u2.
            let settings = try GatewayTest.settings(urls: urls, route: "max_attempts = 3")
            try await GatewayTest.withGateway(settings) { client in
                for _ in 0..<4 {
                    let r = try await GatewayTest.post(client)
                    #expect(r.status == .ok)
                    #expect(r.headers[GatewayTest.providerHeader] == "u2")
                }
                #expect(good.requests == 4)
                #expect(limited.requests <= 1, "after its Retry-After of 30 s it is not asked again")
            }
        }
    }

    @Test func honoursRetryAfterWithinTheDeadline() async throws {
        // One provider: a 429 asking for 0.05 s, then answers: one retry, then success.
        let up = FakeUpstream(.answer("later"), first: [.fail(status: 429, retryAfter: "0.05")])
        try await FakeUpstream.run([up]) { urls in
            let settings = try GatewayTest.settings(urls: urls)
            try await GatewayTest.withGateway(settings) { client in
                let r = try await GatewayTest.post(client)
                #expect(r.status == .ok)
                #expect(GatewayTest.content(r) == "slow" || GatewayTest.content(r) == "later")
                #expect(up.requests == 2)
                let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
                #expect(metrics.contains("copilot_retries_total 1"))
            }
        }
        // A Retry-After past the task's budget: no retry, a 503 at once.
        let late = FakeUpstream(.answer("never"), first: [.fail(status: 429, retryAfter: "30")])
        try await FakeUpstream.run([late]) { urls in
            let settings = try GatewayTest.settings(urls: urls, extra: "[[route.tasks]]\nname = \"quick\"\nlatency_budget_ms = 2000\n")
            try await GatewayTest.withGateway(settings) { client in
                var headers = GatewayTest.jsonHeaders
                headers[HTTPField.Name("x-copilot-task")!] = "quick"
                let r = try await GatewayTest.post(client, headers: headers)
                #expect(r.status == .serviceUnavailable)
                #expect(GatewayTest.errorCode(r) == "upstream_unavailable")
                #expect(String(buffer: r.body).contains("deadline"))
                #expect(late.requests == 1)
            }
        }
    }

    @Test func aHangingOrSlowProviderIsFailedOverAtItsTimeouts() async throws {
        let hanging = FakeUpstream(.hang)
        let slow = FakeUpstream(.slow(ms: 3000))
        let good = FakeUpstream(.answer("ok"))
        try await FakeUpstream.run([hanging, slow, good]) { urls in
            var settings = try GatewayTest.settings(urls: urls)
            settings.providers[0].timeoutMs = 150
            settings.providers[1].timeoutMs = 150
            try await GatewayTest.withGateway(settings) { client in
                for _ in 0..<3 {
                    let r = try await GatewayTest.post(client)
                    #expect(r.status == .ok)
                    #expect(r.headers[GatewayTest.providerHeader] == "u2")
                }
            }
        }
    }

    @Test func aStreamWithoutAFirstChunkInTimeIsFailedOver() async throws {
        // u0 sends its head and then nothing for 5 s; its ttft_timeout_ms is 150.
        let stalled = FakeUpstream(.streamAfter(ms: 5000, words: ["late"]))
        let good = FakeUpstream(.stream(words: ["on ", "time"], delayMs: 1))
        try await FakeUpstream.run([stalled, good]) { urls in
            var settings = try GatewayTest.settings(urls: urls)
            settings.providers[0].ttftTimeoutMs = 150
            settings.providers[0].weight = 1e6  // tried first
            try await GatewayTest.withGateway(settings) { client in
                let r = try await GatewayTest.post(client, body: GatewayTest.chatBody(stream: true))
                #expect(r.status == .ok)
                #expect(r.headers[GatewayTest.providerHeader] == "u1")
                #expect(GatewayTest.streamed(String(buffer: r.body)).content == "on time")
                #expect(stalled.requests == 1)
            }
        }
    }

    @Test func keepAliveConnectionsTheUpstreamClosedAreReplaced() async throws {
        // The upstream closes every connection after answering (not on a timer, which a
        // loaded machine would race): no request may fail or count against the provider.
        let up = try await ClosingUpstream(.closeAfterAnswer)
        try await GatewayTest.withGateway(try GatewayTest.settings(urls: [up.baseURL])) { client in
            for _ in 0..<5 {
                let r = try await GatewayTest.post(client)
                #expect(r.status == .ok && GatewayTest.content(r) == "again")
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains("copilot_provider_errors_total{provider=\"u0\"} 0"))
            #expect(metrics.contains("copilot_retries_total 0"))
        }
        try await up.close()
    }

    @Test func aSlowAnswerWithinTheTimeoutIsServed() async throws {
        let slow = FakeUpstream(.slow(ms: 100))
        try await FakeUpstream.run([slow]) { urls in
            try await GatewayTest.withGateway(try GatewayTest.settings(urls: urls)) { client in
                let r = try await GatewayTest.post(client)
                #expect(r.status == .ok)
                #expect(GatewayTest.content(r) == "slow")
            }
        }
    }

    @Test func anOpenBreakerKeepsRequestsAwayFromAFailingProvider() async throws {
        let failing = FakeUpstream(.fail(status: 503, retryAfter: nil))
        let good = FakeUpstream(.answer("ok"))
        try await FakeUpstream.run([failing, good]) { urls in
            let settings = try GatewayTest.settings(urls: urls, route: "breaker_consecutive_failures = 3")
            try await GatewayTest.withGateway(settings) { client in
                for _ in 0..<40 {
                    let r = try await GatewayTest.post(client)
                    #expect(r.status == .ok)
                }
                #expect(failing.requests == 3, "the breaker opened after 3 failures (cooldown 60 s: no probe yet)")
                let health = String(buffer: try await client.execute(uri: "/health", method: .get).body)
                #expect(health.contains("\"breaker\":\"open\""))
                let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
                #expect(metrics.contains("copilot_breaker_state{provider=\"u0\"} 1"))
                #expect(metrics.contains("copilot_fallbacks_total 3"))
            }
        }
    }

    @Test func streamsChunksAndFailsOverBeforeTheFirst() async throws {
        let failing = FakeUpstream(.fail(status: 500, retryAfter: nil))
        let streaming = FakeUpstream(.stream(words: ["one ", "two ", "three"], delayMs: 20))
        try await FakeUpstream.run([failing, streaming]) { urls in
            try await GatewayTest.withGateway(try GatewayTest.settings(urls: urls)) { client in
                for _ in 0..<3 {
                    let r = try await GatewayTest.post(client, body: GatewayTest.chatBody(stream: true))
                    #expect(r.status == .ok)
                    #expect(r.headers[.contentType] == "text/event-stream")
                    #expect(r.headers[GatewayTest.providerHeader] == "u1")
                    let s = GatewayTest.streamed(String(buffer: r.body))
                    #expect(s.content == "one two three" && s.done && s.errors == 0)
                }
            }
        }
    }

    @Test func aStreamDroppedHalfwayEndsWithAnErrorEventAndTheServerKeepsServing() async throws {
        let dropping = FakeUpstream(.dropStream(afterChunks: 2))
        try await FakeUpstream.run([dropping]) { urls in
            try await GatewayTest.withGateway(try GatewayTest.settings(urls: urls)) { client in
                let r = try await GatewayTest.post(client, body: GatewayTest.chatBody(stream: true))
                #expect(r.status == .ok)
                let s = GatewayTest.streamed(String(buffer: r.body))
                #expect(s.content == "w0w1" && !s.done && s.errors == 1)
                dropping.set(.answer("fine"))
                let next = try await GatewayTest.post(client)
                #expect(next.status == .ok && GatewayTest.content(next) == "fine")
            }
        }
    }

    @Test func anUpstreamThatAnswersNonJSONOrIsDownGetsAnErrorObject() async throws {
        let html = FakeUpstream(.notJSON)
        try await FakeUpstream.run([html]) { urls in
            // u1 is a port nobody listens on (connection refused).
            let settings = try GatewayTest.settings(urls: urls + ["http://127.0.0.1:9/v1"])
            try await GatewayTest.withGateway(settings) { client in
                let r = try await GatewayTest.post(client)
                #expect(r.status == .serviceUnavailable)
                #expect(GatewayTest.errorCode(r) == "upstream_unavailable")
                let health = try await client.execute(uri: "/health", method: .get)
                #expect(health.status == .ok || health.status == .serviceUnavailable)
            }
        }
    }

    @Test func anUpstream4xxIsPassedBackWithoutFailover() async throws {
        let refusing = FakeUpstream(.fail(status: 400, retryAfter: nil))
        let good = FakeUpstream(.answer("ok"))
        try await FakeUpstream.run([refusing]) { urls in
            try await GatewayTest.withGateway(try GatewayTest.settings(urls: urls)) { client in
                let r = try await GatewayTest.post(client)
                #expect(r.status == .badRequest)
                #expect(GatewayTest.errorCode(r) == "upstream_rejected")
                #expect(good.requests == 0)
            }
        }
    }

    @Test func aHedgeAnswersWhenThePrimaryIsSlowerThanItsP95() async throws {
        // The primary answers 5 times at once (its p95 TTFT is a few ms), then takes 5 s.
        let primary = FakeUpstream(.slow(ms: 5000), first: Array(repeating: .answer("fast"), count: 5))
        let backup = FakeUpstream(.answer("hedged"))
        try await FakeUpstream.run([primary, backup]) { urls in
            var settings = try GatewayTest.settings(urls: urls, route: "hedge = true\nhedge_min_samples = 5\nhedge_min_delay_ms = 20")
            settings.providers[0].weight = 1e6  // always the first choice
            settings.providers[1].weight = 1e-6
            try await GatewayTest.withGateway(settings) { client in
                for _ in 0..<5 {
                    let r = try await GatewayTest.post(client)
                    #expect(r.headers[GatewayTest.providerHeader] == "u0")
                }
                #expect(backup.requests == 0, "no hedge without history")
                let r = try await GatewayTest.post(client)
                #expect(r.status == .ok)
                #expect(r.headers[GatewayTest.providerHeader] == "u1" && GatewayTest.content(r) == "hedged")
                let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
                #expect(metrics.contains("copilot_hedges_total 1"))
                let health = String(buffer: try await client.execute(uri: "/health", method: .get).body)
                #expect(health.contains("\"in_flight\":0"), "the losing primary attempt was cancelled and released")
                #expect(!health.contains("\"in_flight\":1"))
            }
        }
    }

    @Test func theMockProviderAnswersFixedEchoStreamedAndFailing() async throws {
        let settings = try RouteSettings(configuration: Configuration(text: """
            [[route.providers]]
            name = "echo"
            kind = "mock"
            models = ["m"]
            mock_mode = "echo"

            [[route.providers]]
            name = "broken"
            kind = "mock"
            models = ["b"]
            mock_failure_rate = 1.0
            """, path: "mock.toml"))
        try await GatewayTest.withGateway(settings) { client in
            let r = try await GatewayTest.post(client, body: GatewayTest.chatBody(text: "say this back"))
            #expect(r.status == .ok && GatewayTest.content(r) == "say this back")
            #expect(r.headers[GatewayTest.providerHeader] == "echo")
            let s = try await GatewayTest.post(client, body: GatewayTest.chatBody(stream: true, text: "a b c"))
            let streamed = GatewayTest.streamed(String(buffer: s.body))
            #expect(streamed.content == "a b c" && streamed.done)
            let broken = try await GatewayTest.post(client, body: GatewayTest.chatBody(model: "b"))
            #expect(broken.status == .serviceUnavailable && GatewayTest.errorCode(broken) == "upstream_unavailable")
        }
    }
}

/// A client that goes away mid-stream cancels the upstream call.
@Suite struct GatewayDisconnectTests {
    @Test func aClientThatDisconnectsCancelsTheUpstreamStream() async throws {
        let slow = FakeUpstream(.stream(words: (0..<200).map { "w\($0) " }, delayMs: 20))
        try await FakeUpstream.run([slow]) { urls in
            try await GatewayTest.withGateway(try GatewayTest.settings(urls: urls)) { client in
                let port = try #require(client.port)
                let http = HTTPClient(eventLoopGroupProvider: .singleton)
                do {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                    request.method = .POST
                    request.headers.add(name: "content-type", value: "application/json")
                    request.body = .bytes(GatewayTest.chatBody(stream: true))
                    let response = try await http.execute(request, timeout: .seconds(10))
                    #expect(response.status == .ok)
                    var iterator = response.body.makeAsyncIterator()
                    let first = try await iterator.next()
                    #expect(first.map { String(buffer: $0) }?.contains("w0") == true)
                    // Drop the response: AsyncHTTPClient closes the connection.
                } catch {
                    try await http.shutdown()
                    throw error
                }
                try await http.shutdown()
                // The upstream notices within a few of its 20 ms chunks; allow 10 s on a busy machine.
                for _ in 0..<1000 where slow.cancelledStreams == 0 { try await Task.sleep(nanoseconds: 10_000_000) }
                #expect(slow.cancelledStreams == 1, "the upstream stream was cancelled, not read to its end")
            }
        }
    }
}

/// Many slow streams at once: every one arrives whole, none waits for another to finish.
@Suite struct GatewayConcurrentStreamTests {
    @Test func twoHundredFiftySixSlowStreamsAllComplete() async throws {
        // 10 words, 30 ms apart, per stream: at least 270 ms each, 256 at once.
        let settings = try RouteSettings(configuration: Configuration(text: """
            [[route.providers]]
            name = "slow"
            kind = "mock"
            models = ["m"]
            mock_reply = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"
            mock_delay_ms = 30
            """, path: "slow.toml"))
        try await GatewayTest.withGateway(settings) { client in
            let port = try #require(client.port)
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let results: [String]
            do {
                results = try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<256 {
                        group.addTask {
                            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                            request.method = .POST
                            request.headers.add(name: "content-type", value: "application/json")
                            request.body = .bytes(GatewayTest.chatBody(stream: true))
                            let response = try await http.execute(request, timeout: .seconds(60))
                            var decoder = ChatStreamDecoder()
                            var text = ""
                            for try await chunk in response.body { text += decoder.feed(chunk.readableBytesView).joined() }
                            return decoder.done ? text : "(unfinished) " + text
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
            #expect(results.count == 256)
            #expect(results.allSatisfy { $0 == "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9" })
            let health = String(buffer: try await client.execute(uri: "/health", method: .get).body)
            #expect(health.contains("\"requests\":256") && health.contains("\"in_flight\":0"))
        }
    }
}
