import Foundation
import Synchronization

/// The `redis` backend: values under `NS:k:KEY`, session keys under `NS:s:{SESSION}:KEY` (the
/// hash tag keeps a session on one Redis Cluster slot, so one flush reaches it all), counters
/// in the hash `NS:stats`. A small pool of hiredis connections serves concurrent callers, whose
/// commands are pipelined together (``RedisMultiplexer`` for callers on threads,
/// ``RedisEventLoop`` for async ones); bulk reads and writes are one pipeline; TTLs are
/// `SET ... PX`. A connection that fails is dropped, and the next call reconnects.
package final class RedisCacheStore: CacheStore {
    package let name = "redis"
    package var location: String { url.description }
    package let url: RedisURL
    private let namespace: String
    /// `NS:k:` and `NS:s:{` as bytes, the start of every key (copied, not transcoded, per key).
    private let plainPrefix: [UInt8], sessionPrefix: [UInt8]
    private let timeoutMs: Int
    private let poolSize: Int
    private let multiplexer: RedisMultiplexer
    /// The event loop of async callers, started by the first of them.
    private let eventLoop = Mutex<RedisEventLoop?>(nil)

    /// A store on `url` over `poolSize` connections, opened lazily: blocking ones for callers
    /// that wait on a thread, and as many non-blocking ones on one event loop for async callers.
    package init(url: RedisURL, namespace: String, poolSize: Int = 8, timeoutMs: Int = 1000) {
        self.url = url
        self.namespace = namespace
        plainPrefix = Array("\(namespace):k:".utf8)
        sessionPrefix = Array("\(namespace):s:{".utf8)
        self.timeoutMs = timeoutMs
        self.poolSize = max(1, poolSize)
        multiplexer = RedisMultiplexer(connections: poolSize) { try RedisConnection(url: url, timeoutMs: timeoutMs) }
    }

    /// The event loop, started on first use.
    private func loop() throws -> RedisEventLoop {
        try eventLoop.withLock { l -> RedisEventLoop in
            if let l { return l }
            let fresh = try RedisEventLoop(url: url, connections: poolSize, timeoutMs: timeoutMs)
            l = fresh
            return fresh
        }
    }

    /// Sends commands as one unit through the event loop, suspending the caller meanwhile.
    package func executeAsync(_ commands: RedisCommands) async throws -> [RedisReply] {
        try await loop().execute(commands)
    }

    package var preferredExecutor: (any TaskExecutor)? { try? loop() }

    package func readAsync(_ keys: [MemoryKey]) async throws -> [[UInt8]?] {
        var commands = RedisCommands(reservingBytes: keys.count * (namespace.utf8.count + 40), commands: keys.count)
        for k in keys {
            commands.begin(arguments: 2)
            commands.argument(Self.get)
            appendKey(k, to: &commands)
            commands.end()
        }
        return try await executeAsync(commands).map(readValue)
    }

    package func writeAsync(_ entries: [(MemoryKey, StoredBlob)]) async throws {
        var commands = RedisCommands(reservingBytes: entries.reduce(0) { $0 + $1.1.bytes.count + namespace.utf8.count + 60 }, commands: entries.count)
        for (k, blob) in entries {
            commands.begin(arguments: blob.ttlMs == nil ? 3 : 5)
            commands.argument(Self.set)
            appendKey(k, to: &commands)
            commands.argument(blob.bytes)
            if let ttl = blob.ttlMs {
                commands.argument(Self.px)
                commands.argument(decimal: ttl)
            }
            commands.end()
        }
        for reply in try await executeAsync(commands) { _ = try check(reply, "SET") }
    }

    /// The entry's Redis key as one argument (``redisKey(_:)`` without the array).
    private func appendKey(_ k: MemoryKey, to commands: inout RedisCommands) {
        commands.argument(length: keyLength(k)) { writeKey(k, &$0) }
    }

    /// Connects now (to report an unreachable server or a wrong password at start-up).
    package func checkConnection() throws {
        if case .error(let message) = try command(["PING"]) {
            throw CacheError.redisCommand(url: url.description, command: "PING", message: message)
        }
    }

    /// Sends commands as one unit on a shared connection; their replies in order.
    package func execute(_ commands: [[[UInt8]]]) throws -> [RedisReply] {
        try multiplexer.execute(commands)
    }

    /// One command's reply.
    package func command(_ args: [[UInt8]]) throws -> RedisReply { try execute([args])[0] }

    /// One command of text arguments.
    package func command(_ args: [String]) throws -> RedisReply { try command(args.map { Array($0.utf8) }) }

    /// Drops every connection (after the server went away).
    package func dropConnections() {
        multiplexer.reset()
    }

    /// The Redis key of an entry.
    package func redisKey(_ k: MemoryKey) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(keyLength(k))
        writeKey(k, &out)
        return out
    }

    /// Bytes of the entry's Redis key.
    private func keyLength(_ k: MemoryKey) -> Int {
        namespace.utf8.count + k.key.utf8.count + (k.session.map { $0.utf8.count + 6 } ?? 3)
    }

    /// Appends `NS:k:KEY` or `NS:s:{SESSION}:KEY`.
    private func writeKey(_ k: MemoryKey, _ out: inout [UInt8]) {
        if let s = k.session {
            out.append(contentsOf: sessionPrefix)
            Self.appendUTF8(s, to: &out)
            out.append(UInt8(ascii: "}"))
            out.append(UInt8(ascii: ":"))
        } else {
            out.append(contentsOf: plainPrefix)
        }
        Self.appendUTF8(k.key, to: &out)
    }

    /// `text`'s UTF-8 bytes, copied from the string's own storage when it has contiguous UTF-8.
    private static func appendUTF8(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    private static let get = Array("GET".utf8), set = Array("SET".utf8), px = Array("PX".utf8)

    private var statsKey: String { "\(namespace):stats" }

    private func check(_ reply: RedisReply, _ command: String) throws -> RedisReply {
        if case .error(let message) = reply {
            if message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") {
                throw CacheError.redisAuthentication(url: url.description, reason: message)
            }
            throw CacheError.redisCommand(url: url.description, command: command, message: message)
        }
        return reply
    }

    /// A GET's value (nil for a nil reply).
    private func readValue(_ reply: RedisReply) throws -> [UInt8]? {
        switch try check(reply, "GET") {
        case .bulk(let bytes): bytes
        default: nil
        }
    }

    /// `SET key value [PX ttl]`.
    private func setCommand(_ entry: (MemoryKey, StoredBlob)) -> [[UInt8]] {
        let (k, blob) = entry
        return blob.ttlMs.map { [Self.set, redisKey(k), blob.bytes, Self.px, Array(String($0).utf8)] } ?? [Self.set, redisKey(k), blob.bytes]
    }

    package func read(_ keys: [MemoryKey]) throws -> [[UInt8]?] {
        try execute(keys.map { [Self.get, redisKey($0)] }).map(readValue)
    }

    package func readOne(_ key: MemoryKey) throws -> [UInt8]? {
        try readValue(command([Self.get, redisKey(key)]))
    }

    package func write(_ entries: [(MemoryKey, StoredBlob)]) throws {
        for reply in try execute(entries.map(setCommand)) { _ = try check(reply, "SET") }
    }

    package func remove(_ keys: [MemoryKey]) throws -> Int {
        guard !keys.isEmpty else { return 0 }
        let reply = try check(command([Array("UNLINK".utf8)] + keys.map(redisKey)), "UNLINK")
        if case .integer(let n) = reply { return Int(n) }
        return 0
    }

    /// `*`, `?`, `[`, `]` and `\` escaped for a SCAN pattern.
    private static func globEscaped(_ text: String) -> String {
        var out = ""
        for c in text {
            if "*?[]\\".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    /// Every Redis key matching `pattern` (SCAN, so the server never blocks on a KEYS).
    private func scanKeys(_ pattern: String) throws -> [[UInt8]] {
        var cursor = "0"
        var found: [[UInt8]] = []
        repeat {
            let reply = try check(command(["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"]), "SCAN")
            guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].text, case .array(let keys) = parts[1] else {
                throw CacheError.redisCommand(url: url.description, command: "SCAN", message: "unexpected reply")
            }
            cursor = next
            found += keys.compactMap(\.bytes)
        } while cursor != "0"
        return found
    }

    /// The entry a Redis key names, when it is one of ours.
    private func entryKey(_ redisKey: [UInt8]) -> MemoryKey? {
        let text = String(decoding: redisKey, as: UTF8.self)
        let plain = "\(namespace):k:", session = "\(namespace):s:{"
        if text.hasPrefix(plain) { return MemoryKey(session: nil, key: String(text.dropFirst(plain.count))) }
        if text.hasPrefix(session) {
            let rest = text.dropFirst(session.count)
            guard let close = rest.firstIndex(of: "}") else { return nil }
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { return nil }
            return MemoryKey(session: String(rest[..<close]), key: String(after.dropFirst()))
        }
        return nil
    }

    private func fetch(_ redisKeys: [[UInt8]]) throws -> [(MemoryKey, [UInt8])] {
        var out: [(MemoryKey, [UInt8])] = []
        for chunk in stride(from: 0, to: redisKeys.count, by: 512) {
            let batch = Array(redisKeys[chunk..<min(chunk + 512, redisKeys.count)])
            let replies = try execute(batch.map { [Array("GET".utf8), $0] })
            for (rk, reply) in zip(batch, replies) {
                if case .bulk(let bytes) = reply, let id = entryKey(rk) { out.append((id, bytes)) }
            }
        }
        return out
    }

    package func list(prefix: String, session: String?) throws -> [(key: String, expiresAtMs: Int64?)] {
        let base = session.map { "\(namespace):s:{\($0)}:" } ?? "\(namespace):k:"
        let found = try scanKeys(Self.globEscaped(base + prefix) + "*")
        return try fetch(found).map { id, bytes in (id.key, CacheValueCodec.expiry(of: bytes) ?? nil) }
    }

    private func unlinkAll(_ keys: [[UInt8]]) throws -> Int {
        var n = 0
        for chunk in stride(from: 0, to: keys.count, by: 512) {
            let batch = Array(keys[chunk..<min(chunk + 512, keys.count)])
            let reply = try check(command([Array("UNLINK".utf8)] + batch), "UNLINK")
            if case .integer(let removed) = reply { n += Int(removed) }
        }
        return n
    }

    /// Unlinks `keys`; returns how many held a value live at `nowMs` (by their headers).
    private func unlinkCountingLive(_ keys: [[UInt8]], nowMs: Int64) throws -> Int {
        let live = try fetch(keys).filter { (CacheValueCodec.expiry(of: $0.1).flatMap { $0 } ?? Int64.max) > nowMs }.count
        _ = try unlinkAll(keys)
        return live
    }

    package func removeSession(_ session: String, nowMs: Int64) throws -> Int {
        try unlinkCountingLive(scanKeys(Self.globEscaped("\(namespace):s:{\(session)}:") + "*"), nowMs: nowMs)
    }

    package func removeAll(nowMs: Int64) throws -> Int {
        try unlinkCountingLive(scanKeys(Self.globEscaped("\(namespace):k:") + "*") + scanKeys(Self.globEscaped("\(namespace):s:") + "*"), nowMs: nowMs)
    }

    package func scan() throws -> [(MemoryKey, [UInt8])] {
        try fetch(scanKeys(Self.globEscaped("\(namespace):k:") + "*") + scanKeys(Self.globEscaped("\(namespace):s:") + "*"))
    }

    /// Redis expires keys itself.
    package func purgeExpired(nowMs: Int64, limit: Int) throws -> Int { 0 }

    package func persist(_ delta: CacheCounters) throws {
        guard !delta.isZero else { return }
        let commands = zip(CacheCounters.names, delta.values).filter { $0.1 != 0 }.map { name, value in
            ["HINCRBY", statsKey, name, String(value)].map { Array($0.utf8) }
        }
        for reply in try execute(commands) { _ = try check(reply, "HINCRBY") }
    }

    package func usage(nowMs: Int64) throws -> StoreUsage {
        var usage = StoreUsage()
        let reply = try check(command(["HGETALL", statsKey]), "HGETALL")
        if case .array(let items) = reply {
            for i in stride(from: 0, to: items.count - 1, by: 2) {
                if let name = items[i].text, let value = items[i + 1].text.flatMap({ Int($0) }) { usage.counters.add(name, value) }
            }
        }
        let entries = try fetch(scanKeys(Self.globEscaped("\(namespace):k:") + "*") + scanKeys(Self.globEscaped("\(namespace):s:") + "*"))
        let live = entries.filter { (CacheValueCodec.expiry(of: $0.1).flatMap { $0 } ?? Int64.max) > nowMs }
        usage.entries = live.count
        usage.bytesStored = live.reduce(0) { $0 + $1.1.count }
        return usage
    }

    /// Publishes `message` on `channel`.
    package func publish(channel: String, message: [UInt8]) throws {
        _ = try check(command([Array("PUBLISH".utf8), Array(channel.utf8), message]), "PUBLISH")
    }
}
