@testable import CopilotGateway
import NIOCore
import Testing

/// The keep-alive pool against an upstream that drops connections as they are reused.
@Suite struct UpstreamConnectionPoolTests {
    /// The timeout is long because it is not what is tested: a suite run in parallel on two
    /// cores can keep a request waiting for seconds. A request the pool lost still fails.
    static func postMany(_ upstream: ClosingUpstream, count: Int, pauseNs: UInt64) async throws {
        let pool = UpstreamConnectionPool(host: "127.0.0.1", port: upstream.port, maxIdle: 4)
        defer { pool.shutdown() }
        for i in 0..<count {
            // Every request after the first finds the previous one's connection in the pool,
            // closed or about to be: each must still succeed, on a new connection.
            let reply = try await pool.post(
                path: "/v1/chat/completions", body: ByteBuffer(string: "{}"), headers: [], timeoutNs: 60_000_000_000, provider: "p")
            #expect(reply.head.status == .ok, "request \(i)")
            #expect(String(buffer: reply.body).contains("again"), "request \(i)")
            if pauseNs > 0 { try await Task.sleep(nanoseconds: pauseNs) }
        }
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
