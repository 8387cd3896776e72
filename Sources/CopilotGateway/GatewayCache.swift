import CopilotCore
import HTTPTypes
import NIOCore

/// The gateway's exact-match response cache over `copilot cache`'s store: which requests may
/// use it (``RouteCacheMode`` and the client's `x-copilot-cache` header), their
/// ``CacheKey``, and reads and writes that never block an event loop when the store is remote.
///
/// An answer is stored as it came (JSON, or the SSE bytes of a stream) and replayed in the
/// form the next request asks for (``CachedCompletion``), so a streamed request can be served
/// from a plain answer and the other way round.
package struct GatewayCache: Sendable {
    /// The store (`[cache]`: sqlite by default, redis to share it between gateways).
    package let store: any ResponseCaching
    /// Which requests use it.
    package let mode: RouteCacheMode
    /// How long an answer is served, in milliseconds.
    package let ttlMs: Int64
    /// The store talks to a server (redis): writes are left to a task instead of being
    /// awaited inline (reads always use the store's async path).
    package let offEventLoop: Bool
    /// Streams longer than this are passed through without being stored.
    static let maxRecordedBytes = 8 << 20

    /// `x-copilot-cache`: in requests `force` or `bypass`; in responses `hit` or `miss`.
    package static var header: HTTPField.Name { CopilotHeaders.cache }

    /// A cache over `store`.
    package init(store: any ResponseCaching, mode: RouteCacheMode, ttlSeconds: Int, offEventLoop: Bool) {
        self.store = store
        self.mode = mode
        ttlMs = Int64(ttlSeconds) * 1000
        self.offEventLoop = offEventLoop
    }

    /// The request's key when it may be answered from (and stored in) the cache.
    func key(for chat: ChatRequest, body: ByteBuffer, header: String?) -> String? {
        switch header?.lowercased() {
        case "bypass", "off", "no": return nil
        case "force", "on", "yes": break
        default:
            switch mode {
            case .off: return nil
            case .always: break
            case .auto: guard chat.temperature == 0 else { return nil }
            }
        }
        return ScannedCacheKey.key(body)
    }

    /// The cached entry, or nil (a miss, or a store that failed: the request goes upstream).
    /// A Redis store answers through its event loop, so the request's task waits without
    /// holding an event loop or a pool thread.
    func get(_ key: String) async -> [UInt8]? {
        try? await store.getAsync(key)
    }

    /// Stores an answer without delaying the response (a failed write only costs a miss later).
    func set(_ key: String, _ entry: [UInt8]) {
        let store = self.store, ttl = ttlMs
        if offEventLoop {
            Task { try? await store.setAsync(key, value: entry, ttlMs: ttl) }
        } else {
            try? store.set(key, value: entry, ttlMs: ttl, session: nil)
        }
    }
}
