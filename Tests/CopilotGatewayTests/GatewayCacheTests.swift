import CopilotCore
import CopilotGateway
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The exact-match response cache: temperature-0 answers served again without the upstream,
/// in either form (plain or streamed), and the client's force and bypass.
@Suite struct GatewayCacheTests {
    static func body(temperature: String?, stream: Bool = false, text: String = "capital of Australia?") -> ByteBuffer {
        let t = temperature.map { #","temperature":\#($0)"# } ?? ""
        return ByteBuffer(string: #"{"model":"m","stream":\#(stream)\#(t),"messages":[{"role":"user","content":"\#(text)"}]}"#)
    }

    static func headers(cache: String? = nil) -> HTTPFields {
        var h = GatewayTest.jsonHeaders
        if let cache { h[GatewayCache.header] = cache }
        return h
    }

    @Test func temperatureZeroAnswersComeFromTheCacheInEitherForm() async throws {
        let up = FakeUpstream(.answer("Canberra"))
        let cache = GatewayCache(store: MemoryCache(), mode: .auto, ttlSeconds: 60, offEventLoop: false)
        try await FakeUpstream.run([up]) { urls in
            let settings = try GatewayTest.settings(urls: urls)
            try await GatewayTest.withGateway(settings, cache: cache) { client in
                let first = try await GatewayTest.post(client, body: Self.body(temperature: "0"))
                #expect(first.status == .ok && GatewayTest.content(first) == "Canberra")
                #expect(first.headers[GatewayCache.header] == "miss" && up.requests == 1)

                // Same request, other key order and number spelling: a hit, no upstream call.
                let again = try await GatewayTest.post(client, body: ByteBuffer(string:
                    #"{"messages":[{"content":"capital of Australia?","role":"user"}],"temperature":0.0,"model":"m"}"#))
                #expect(again.status == .ok && GatewayTest.content(again) == "Canberra")
                #expect(again.headers[GatewayCache.header] == "hit" && again.headers[GatewayTest.providerHeader] == "cache")
                #expect(up.requests == 1)

                // Streamed: replayed as SSE chunks from the plain answer.
                let streamed = try await GatewayTest.post(client, body: Self.body(temperature: "0", stream: true))
                #expect(streamed.headers[.contentType] == "text/event-stream" && streamed.headers[GatewayCache.header] == "hit")
                let replay = GatewayTest.streamed(String(buffer: streamed.body))
                #expect(replay.content == "Canberra" && replay.done)
                #expect(up.requests == 1)

                // Not temperature 0: not cached, unless the client forces it.
                _ = try await GatewayTest.post(client, body: Self.body(temperature: "0.7"))
                _ = try await GatewayTest.post(client, body: Self.body(temperature: nil))
                #expect(up.requests == 3)
                let forced = try await GatewayTest.post(client, body: Self.body(temperature: "0.7"), headers: Self.headers(cache: "force"))
                #expect(forced.headers[GatewayCache.header] == "miss" && up.requests == 4)
                let forcedAgain = try await GatewayTest.post(client, body: Self.body(temperature: "0.7"), headers: Self.headers(cache: "force"))
                #expect(forcedAgain.headers[GatewayCache.header] == "hit" && up.requests == 4)
                // Bypass: upstream again, and no cache header.
                let bypass = try await GatewayTest.post(client, body: Self.body(temperature: "0"), headers: Self.headers(cache: "bypass"))
                #expect(bypass.headers[GatewayCache.header] == nil && up.requests == 5)

                let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
                #expect(metrics.contains("copilot_cache_hits_total 3"))
                #expect(metrics.contains("copilot_cache_misses_total 2"))
            }
        }
    }

    @Test func aStreamedAnswerIsStoredAndServedPlain() async throws {
        let up = FakeUpstream(.stream(words: ["Can", "berra"], delayMs: 1))
        let store = MemoryCache()
        let cache = GatewayCache(store: store, mode: .auto, ttlSeconds: 60, offEventLoop: false)
        try await FakeUpstream.run([up]) { urls in
            let settings = try GatewayTest.settings(urls: urls)
            try await GatewayTest.withGateway(settings, cache: cache) { client in
                let first = try await GatewayTest.post(client, body: Self.body(temperature: "0", stream: true))
                #expect(GatewayTest.streamed(String(buffer: first.body)).content == "Canberra")
                #expect(first.headers[GatewayCache.header] == "miss")
                // The entry is written when the stream ends.
                for _ in 0..<100 where try store.keys(prefix: "chat:", session: nil).isEmpty { try await Task.sleep(nanoseconds: 10_000_000) }
                let plain = try await GatewayTest.post(client, body: Self.body(temperature: "0"))
                #expect(plain.headers[GatewayCache.header] == "hit")
                #expect(GatewayTest.content(plain) == "Canberra")
                let streamedAgain = try await GatewayTest.post(client, body: Self.body(temperature: "0", stream: true))
                #expect(GatewayTest.streamed(String(buffer: streamedAgain.body)).content == "Canberra")
                #expect(up.requests == 1)
            }
        }
    }
}
