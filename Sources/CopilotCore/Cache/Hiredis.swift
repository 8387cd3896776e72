import CHiredis
import Foundation

/// A reply from Redis.
package enum RedisReply: Equatable, Sendable {
    /// A bulk string (binary-safe).
    case bulk([UInt8])
    /// A simple status such as `OK`.
    case status(String)
    /// An error reply.
    case error(String)
    /// An integer.
    case integer(Int64)
    /// An array (SCAN, MGET, pub/sub messages).
    case array([RedisReply])
    /// A nil bulk or nil array.
    case null

    /// The bytes of a bulk or status reply.
    package var bytes: [UInt8]? {
        switch self {
        case .bulk(let b): b
        case .status(let s): Array(s.utf8)
        default: nil
        }
    }

    /// The text of a bulk or status reply.
    package var text: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
}

/// One blocking connection to Redis through hiredis (the `CHiredis` system library target),
/// the one wrapper type around it: commands as binary-safe argument vectors, pipelines, and
/// errors turned into ``CacheError`` (the URL masked, so a password never shows). No other
/// file imports `CHiredis`.
///
/// Not thread-safe: the pool hands each connection to one thread at a time. After an I/O
/// error the connection is `broken` and must be dropped.
package final class RedisConnection: @unchecked Sendable {
    // @unchecked: one thread at a time; the pool's mutex hands a connection over.
    private let context: UnsafeMutablePointer<redisContext>
    /// The server, masked.
    package let url: RedisURL
    /// True after an I/O or protocol error; the connection cannot be used again.
    package private(set) var broken = false

    /// Connects (within `timeoutMs`), authenticates and selects the database.
    package init(url: RedisURL, timeoutMs: Int) throws {
        self.url = url
        let tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        let c: UnsafeMutablePointer<redisContext>?
        switch url.endpoint {
        case .tcp(let host, let port): c = redisConnectWithTimeout(host, Int32(port), tv)
        case .unix(let path): c = redisConnectUnixWithTimeout(path, tv)
        }
        guard let c else { throw CacheError.redisUnreachable(url: url.description, reason: "out of memory") }
        if c.pointee.err != 0 {
            let reason = Self.errorText(c)
            redisFree(c)
            throw CacheError.redisUnreachable(url: url.description, reason: reason)
        }
        context = c
        redisSetTimeout(c, tv)
        if case .tcp = url.endpoint { redisEnableKeepAlive(c) }  // TCP_KEEPIDLE fails on unix sockets
        if let password = url.password {
            var auth: [[UInt8]] = [Array("AUTH".utf8)]
            if let user = url.user { auth.append(Array(user.utf8)) }
            auth.append(Array(password.utf8))
            if case .error(let message) = try command(auth) {
                throw CacheError.redisAuthentication(url: url.description, reason: message)
            }
        }
        if url.database != 0, case .error(let message) = try command(["SELECT", String(url.database)]) {
            throw CacheError.redisCommand(url: url.description, command: "SELECT \(url.database)", message: message)
        }
    }

    deinit { redisFree(context) }

    private static func errorText(_ c: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: c.pointee.errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// Sends one command (text arguments) and waits for its reply.
    package func command(_ args: [String]) throws -> RedisReply {
        try command(args.map { Array($0.utf8) })
    }

    /// Sends one command and waits for its reply.
    package func command(_ args: [[UInt8]]) throws -> RedisReply {
        try pipeline([args])[0]
    }

    /// Sends every command in one write and reads their replies in order.
    package func pipeline(_ commands: [[[UInt8]]]) throws -> [RedisReply] {
        guard !broken else { throw CacheError.redisUnreachable(url: url.description, reason: "connection lost") }
        for args in commands {
            append(args)
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply()) }
        return replies
    }

    /// Queues a command in hiredis's output buffer (sent by the next read). The arguments are
    /// read where they lie: hiredis copies them once, into its output buffer.
    private func append(_ args: [[UInt8]]) {
        var pointers = [UnsafePointer<CChar>?](repeating: nil, count: args.count)
        var lengths = [Int](repeating: 0, count: args.count)
        func pin(_ i: Int) {
            guard i < args.count else {
                _ = pointers.withUnsafeMutableBufferPointer { p in
                    lengths.withUnsafeBufferPointer { l in redisAppendCommandArgv(context, Int32(args.count), p.baseAddress, l.baseAddress) }
                }
                return
            }
            args[i].withUnsafeBufferPointer { buf in
                // An empty argument still needs a valid pointer.
                pointers[i] = UnsafeRawPointer(buf.baseAddress ?? Self.emptyArgument).assumingMemoryBound(to: CChar.self)
                lengths[i] = buf.count
                pin(i + 1)
            }
        }
        pin(0)
    }

    private static let empty: StaticString = ""
    private static var emptyArgument: UnsafePointer<UInt8> { empty.utf8Start }

    /// Waits for the next reply (a pipelined one, or a pub/sub message).
    package func readReply() throws -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        if redisGetReply(context, &raw) != REDIS_OK || raw == nil {
            broken = true
            let reason = context.pointee.err == REDIS_ERR_EOF ? "the server closed the connection" : Self.errorText(context)
            throw CacheError.redisUnreachable(url: url.description, reason: reason.isEmpty ? "no reply" : reason)
        }
        let reply = raw!.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return Self.convert(reply)
    }

    /// Sets the read timeout (pub/sub waits with a short one to notice shutdown).
    package func setTimeout(ms: Int) {
        redisSetTimeout(context, timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000))
    }

    /// True when the last failure was a read timeout (the connection is still usable for
    /// pub/sub).
    package func clearTimeout() -> Bool {
        let timedOut = context.pointee.err == REDIS_ERR_IO
            && (errno == EAGAIN || errno == EWOULDBLOCK || Self.errorText(context).contains("temporarily unavailable"))
        if timedOut {
            context.pointee.err = 0
            broken = false
        }
        return timedOut
    }

    private static func convert(_ r: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let reply = r.pointee
        switch Int32(reply.type) {
        case REDIS_REPLY_STRING:
            return .bulk(reply.str.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: Int(reply.len))) } ?? [])
        case REDIS_REPLY_STATUS:
            return .status(reply.str.map { String(cString: $0) } ?? "")
        case REDIS_REPLY_ERROR:
            return .error(reply.str.map { String(cString: $0) } ?? "error")
        case REDIS_REPLY_INTEGER:
            return .integer(reply.integer)
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(Int(reply.elements))
            for i in 0..<Int(reply.elements) {
                if let e = reply.element[i] { items.append(convert(e)) }
            }
            return .array(items)
        default:
            return .null
        }
    }
}
