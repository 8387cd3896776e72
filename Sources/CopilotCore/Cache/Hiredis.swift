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
        Self.withArgv(args) { argc, argv, lengths in _ = redisAppendCommandArgv(context, argc, argv, lengths) }
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

    fileprivate static func convert(_ r: UnsafeMutablePointer<redisReply>) -> RedisReply {
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

    /// `args` as hiredis encodes a command for the wire (the oracle of ``RedisCommands``).
    package static func format(_ args: [[UInt8]]) -> [UInt8] {
        withArgv(args) { argc, argv, lengths in
            var target: UnsafeMutablePointer<CChar>?
            let n = redisFormatCommandArgv(&target, argc, argv, lengths)
            guard n >= 0, let target else { return [] }
            defer { redisFreeCommand(target) }
            return [UInt8](UnsafeRawBufferPointer(start: target, count: Int(n)))
        }
    }

    /// Calls `body` with hiredis's argument vectors for `args` (pointers into the arrays
    /// themselves: hiredis copies them once, into its output buffer).
    fileprivate static func withArgv<T>(_ args: [[UInt8]], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> T) -> T {
        var pointers = [UnsafePointer<CChar>?](repeating: nil, count: args.count)
        var lengths = [Int](repeating: 0, count: args.count)
        func pin(_ i: Int) -> T {
            guard i < args.count else {
                return pointers.withUnsafeMutableBufferPointer { p in
                    lengths.withUnsafeBufferPointer { l in body(Int32(args.count), p.baseAddress!, l.baseAddress!) }
                }
            }
            return args[i].withUnsafeBufferPointer { buf in
                // An empty argument still needs a valid pointer.
                pointers[i] = UnsafeRawPointer(buf.baseAddress ?? emptyArgument).assumingMemoryBound(to: CChar.self)
                lengths[i] = buf.count
                return pin(i + 1)
            }
        }
        return pin(0)
    }
}

// MARK: - Non-blocking connections

/// Commands sent as one unit on a non-blocking connection, and what to do with their replies
/// (called once, on the event loop's thread).
package final class RedisCall: @unchecked Sendable {
    // @unchecked: created by a caller, then touched only by the loop thread that owns it.
    /// The commands, in order.
    package let commands: RedisCommands
    /// Which connection of the pool should carry it (taken modulo the pool size).
    package let lane: Int
    private var replies: [RedisReply] = []
    private var completion: (@Sendable (Result<[RedisReply], CacheError>) -> Void)?

    /// A call whose replies (or failure) go to `completion`.
    package init(_ commands: RedisCommands, lane: Int, completion: @escaping @Sendable (Result<[RedisReply], CacheError>) -> Void) {
        self.commands = commands
        self.lane = lane
        self.completion = completion
        replies.reserveCapacity(commands.count)
    }

    /// Adds one reply; completes the call with the last.
    fileprivate func received(_ reply: RedisReply) {
        replies.append(reply)
        if replies.count == commands.count { finish(.success(replies)) }
    }

    /// Completes the call, once.
    package func finish(_ result: Result<[RedisReply], CacheError>) {
        guard let c = completion else { return }
        completion = nil
        c(result)
    }
}

/// One non-blocking connection to Redis through hiredis's async API, driven by a
/// ``RedisEventLoop``: calls are formatted into hiredis's output buffer, written when the loop
/// says the socket takes them, and each reply completes its call (replies come back in order,
/// so calls queued together are pipelined). AUTH and SELECT are queued first, at connect.
///
/// Used only on its loop's thread. Once `isClosed`, hiredis has freed the connection and every
/// call still waiting on it has failed with ``CacheError/redisUnreachable(url:reason:)``.
package final class RedisAsyncConnection: @unchecked Sendable {
    // @unchecked: owned by one event loop thread.
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    /// The server, masked.
    package let url: RedisURL
    /// The socket.
    package let fd: Int32
    /// True while hiredis has bytes to write (the loop then watches for writability).
    package fileprivate(set) var wantsWrite = false
    /// True once the TCP or unix-socket connect completed.
    package fileprivate(set) var isConnected = false
    /// Commands sent whose replies have not come back.
    package private(set) var outstanding = 0
    /// Why the connection is being closed, said to the calls it fails.
    private var closeReason: String?

    /// True after hiredis freed the connection.
    package var isClosed: Bool { context == nil }

    /// Starts a non-blocking connect to `url` and queues AUTH and SELECT.
    package init(url: RedisURL) throws {
        self.url = url
        let c: UnsafeMutablePointer<redisAsyncContext>?
        switch url.endpoint {
        case .tcp(let host, let port): c = redisAsyncConnect(host, Int32(port))
        case .unix(let path): c = redisAsyncConnectUnix(path)
        }
        guard let c else { throw CacheError.redisUnreachable(url: url.description, reason: "out of memory") }
        if c.pointee.err != 0 {
            let reason = c.pointee.errstr.map { String(cString: $0) } ?? "connect failed"
            redisAsyncFree(c)
            throw CacheError.redisUnreachable(url: url.description, reason: reason)
        }
        context = c
        fd = c.pointee.c.fd
        let me = Unmanaged.passUnretained(self).toOpaque()
        c.pointee.data = me
        c.pointee.ev.data = me
        c.pointee.ev.addRead = { _ in }  // the loop always watches for reads
        c.pointee.ev.delRead = { _ in }
        c.pointee.ev.addWrite = { RedisAsyncConnection.from($0).wantsWrite = true }
        c.pointee.ev.delWrite = { RedisAsyncConnection.from($0).wantsWrite = false }
        c.pointee.ev.cleanup = { RedisAsyncConnection.from($0).context = nil }  // hiredis frees it next
        redisAsyncSetConnectCallback(c) { ac, status in
            guard let ac, status == REDIS_OK, let data = ac.pointee.data else { return }
            RedisAsyncConnection.from(data).isConnected = true
        }
        var handshake = RedisCommands()
        if let password = url.password {
            var auth: [[UInt8]] = [Array("AUTH".utf8)]
            if let user = url.user { auth.append(Array(user.utf8)) }
            auth.append(Array(password.utf8))
            // A refused AUTH needs no handling here: the commands behind it get NOAUTH errors.
            handshake.append(auth)
        }
        if url.database != 0 { handshake.append(["SELECT", String(url.database)].map { Array($0.utf8) }) }
        queueUnanswered(handshake)
    }

    deinit {
        // Only reached once hiredis freed the context (the loop closes before it lets go).
        precondition(context == nil, "a Redis connection was dropped while open")
    }

    private static func from(_ data: UnsafeMutableRawPointer?) -> RedisAsyncConnection {
        Unmanaged<RedisAsyncConnection>.fromOpaque(data!).takeUnretainedValue()
    }

    /// Queues one encoded command whose reply goes to the call at `privateData` (nil: AUTH or
    /// SELECT, whose replies are dropped). False when hiredis refused it (the connection is
    /// closing).
    private func queue(_ command: UnsafeBufferPointer<UInt8>, privateData: UnsafeMutableRawPointer?) -> Bool {
        guard let context else { return false }
        let status = command.withMemoryRebound(to: CChar.self) { text in
            // Each reply: the call's next reply, or (nil reply) the connection's end.
            redisAsyncFormattedCommand(context, { ac, reply, privdata in
                guard let ac, let data = ac.pointee.data else { return }
                let conn = RedisAsyncConnection.from(data)
                conn.outstanding -= 1
                guard let privdata else { return }
                let call = Unmanaged<RedisCall>.fromOpaque(privdata).takeRetainedValue()
                if let reply {
                    call.received(RedisConnection.convert(reply.assumingMemoryBound(to: redisReply.self)))
                } else {
                    let hiredisReason = ac.pointee.errstr.map { String(cString: $0) } ?? ""
                    let reason = conn.closeReason ?? (hiredisReason.isEmpty ? "connection lost" : hiredisReason)
                    call.finish(.failure(.redisUnreachable(url: conn.url.description, reason: reason)))
                }
            }, privateData, text.baseAddress, text.count)
        }
        guard status == REDIS_OK else { return false }
        outstanding += 1
        return true
    }

    /// Queues encoded commands with no caller waiting for them (AUTH, SELECT).
    private func queueUnanswered(_ commands: RedisCommands) {
        commands.forEachCommand { queue($0, privateData: nil) }
    }

    /// Queues every command of `call` (written by the next ``flush()``). A closed connection
    /// fails the call at once.
    package func send(_ call: RedisCall) {
        guard context != nil else {
            call.finish(.failure(.redisUnreachable(url: url.description, reason: closeReason ?? "connection lost")))
            return
        }
        call.commands.forEachCommand { command in
            let data = Unmanaged.passRetained(call).toOpaque()
            guard queue(command, privateData: data) else {
                // Closed part-way: the commands already queued failed the call too.
                Unmanaged<RedisCall>.fromOpaque(data).release()
                call.finish(.failure(.redisUnreachable(url: url.description, reason: closeReason ?? "connection closing")))
                return false
            }
            return true
        }
    }

    /// Writes what hiredis holds (completing the connect first, when it is still going on).
    package func flush() {
        guard let context else { return }
        redisAsyncHandleWrite(context)
    }

    /// Reads what the socket has and completes the calls whose replies arrived.
    package func readAvailable() {
        guard let context else { return }
        redisAsyncHandleRead(context)
    }

    /// Closes the connection: every call waiting on it fails with `reason`.
    package func close(reason: String) {
        guard let context else { return }
        closeReason = reason
        // Pending calls get a nil reply; then hiredis frees the context (cleanup hook).
        redisAsyncFree(context)
    }
}
