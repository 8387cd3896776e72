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

    fileprivate static func errorText(_ c: UnsafeMutablePointer<redisContext>) -> String {
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
/// (done once, on the event loop's thread).
package final class RedisCall: @unchecked Sendable {
    // @unchecked: created by a caller, then touched only by the loop thread that owns it.
    /// The commands, in order.
    package let commands: RedisCommands
    private var replies: [RedisReply] = []
    private var completion: Completion?

    /// Who waits for the replies: a suspended task (no closure to allocate), or a closure.
    private enum Completion {
        case resume(UnsafeContinuation<[RedisReply], any Error>)
        case call(@Sendable (Result<[RedisReply], CacheError>) -> Void)
    }

    /// A call whose replies (or failure) go to `completion`.
    package init(_ commands: RedisCommands, completion: @escaping @Sendable (Result<[RedisReply], CacheError>) -> Void) {
        self.commands = commands
        self.completion = .call(completion)
        replies.reserveCapacity(commands.count)
    }

    /// A call whose replies (or failure) resume `continuation`.
    package init(_ commands: RedisCommands, resuming continuation: UnsafeContinuation<[RedisReply], any Error>) {
        self.commands = commands
        self.completion = .resume(continuation)
        replies.reserveCapacity(commands.count)
    }

    /// Adds one reply; completes the call with the last and then returns true.
    fileprivate func received(_ reply: consuming RedisReply) -> Bool {
        replies.append(reply)
        guard replies.count == commands.count else { return false }
        finish(.success(replies))
        return true
    }

    /// Completes the call, once.
    package func finish(_ result: Result<[RedisReply], CacheError>) {
        guard let c = completion else { return }
        completion = nil
        replies = []
        switch c {
        case .resume(let continuation): continuation.resume(with: result.mapError { $0 })
        case .call(let body): body(result)
        }
    }
}

/// One non-blocking connection to Redis, driven by a ``RedisEventLoop``: hiredis connects it
/// (`redisConnectNonBlock`) and parses what it answers (a `redisReader` whose reply objects
/// are ours), and the connection itself writes the calls' already-encoded commands, all the
/// calls queued in one turn in one `write`. Replies come back in order, so each one goes to
/// the oldest call still waiting: a bulk string is copied once, from hiredis's read buffer
/// into that call's reply, with no `redisReply` and no per-command callback in between.
/// AUTH and SELECT go first, at connect (their replies are dropped: a refused AUTH shows as
/// the NOAUTH error of the commands behind it).
///
/// Used only on its loop's thread. Once `isClosed`, every call still waiting on it has failed
/// with ``CacheError/redisUnreachable(url:reason:)``.
package final class RedisAsyncConnection: @unchecked Sendable {
    // @unchecked: owned by one event loop thread.
    private var context: UnsafeMutablePointer<redisContext>?
    private var reader: UnsafeMutablePointer<redisReader>?
    /// The server, masked.
    package let url: RedisURL
    /// The socket.
    package let fd: Int32
    /// True once the TCP or unix-socket connect completed.
    package private(set) var isConnected = false
    /// Replies expected and not yet read.
    package private(set) var outstanding = 0
    /// Encoded commands not yet written, from `written` on.
    private var output: [UInt8] = []
    private var written = 0
    /// Calls sent, oldest first from `head` (the one the next reply belongs to).
    private var waiting: [RedisCall] = []
    private var head = 0
    /// Why the connection was closed, said to the calls it fails.
    private var closeReason: String?
    /// Set when a reply came that no call asked for (the connection is closed after the
    /// reader returns: it cannot be freed from inside one of its functions).
    private var unaskedReply = false

    /// True while commands wait to be written (the loop then watches for writability).
    package var wantsWrite: Bool { written < output.count }

    /// True after the connection was closed.
    package var isClosed: Bool { context == nil }

    /// A read buffer larger than this is released once drained (one large value does not
    /// pin its size for the connection's life).
    private static let readerMaxIdleBytes = 256 * 1024
    /// Bytes handed to the reader at once.
    private static let feedBytes = 4 * 1024

    /// Starts a non-blocking connect to `url` and queues AUTH and SELECT.
    package init(url: RedisURL) throws {
        self.url = url
        let c: UnsafeMutablePointer<redisContext>?
        switch url.endpoint {
        case .tcp(let host, let port): c = redisConnectNonBlock(host, Int32(port))
        case .unix(let path): c = redisConnectUnixNonBlock(path)
        }
        guard let c else { throw CacheError.redisUnreachable(url: url.description, reason: "out of memory") }
        if c.pointee.err != 0 {
            let reason = RedisConnection.errorText(c)
            redisFree(c)
            throw CacheError.redisUnreachable(url: url.description, reason: reason.isEmpty ? "connect failed" : reason)
        }
        guard let r = redisReaderCreateWithFunctions(RedisReplyBuilder.functions) else {
            redisFree(c)
            throw CacheError.redisUnreachable(url: url.description, reason: "out of memory")
        }
        r.pointee.maxbuf = Self.readerMaxIdleBytes
        context = c
        reader = r
        fd = c.pointee.fd
        r.pointee.privdata = Unmanaged.passUnretained(self).toOpaque()
        var handshake = RedisCommands()
        if let password = url.password {
            var auth: [[UInt8]] = [Array("AUTH".utf8)]
            if let user = url.user { auth.append(Array(user.utf8)) }
            auth.append(Array(password.utf8))
            handshake.append(auth)
        }
        if url.database != 0 { handshake.append(["SELECT", String(url.database)].map { Array($0.utf8) }) }
        if handshake.count > 0 { send(RedisCall(handshake) { _ in }) }
    }

    deinit { close(reason: "the connection was dropped") }

    /// Queues every command of `call` (written by the next ``flush()``). A closed connection
    /// fails the call at once; a call of no commands completes at once.
    package func send(_ call: RedisCall) {
        guard context != nil else {
            call.finish(.failure(.redisUnreachable(url: url.description, reason: closeReason ?? "connection lost")))
            return
        }
        guard call.commands.count > 0 else {
            call.finish(.success([]))
            return
        }
        output.append(contentsOf: call.commands.bytes)
        waiting.append(call)
        outstanding += call.commands.count
    }

    /// Writes what is queued, as much as the socket takes (completing the connect first, when
    /// the loop saw the socket writable).
    package func flush() {
        guard let context else { return }
        if !isConnected {
            guard finishConnect(context) else { return }
        }
        while written < output.count {
            let n = output.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n > 0 {
                written += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                return
            } else {
                close(reason: String(cString: strerror(errno)))
                return
            }
        }
        output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
        written = 0
    }

    /// True once the connect finished; closes the connection when it failed.
    private func finishConnect(_ context: UnsafeMutablePointer<redisContext>) -> Bool {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 { error = errno }
        if error == 0 {
            // No error yet may still mean "in progress": only a peer address says connected.
            var address = sockaddr_storage()
            var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let connected = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &size) }
            }
            if connected == 0 {
                isConnected = true
                return true
            }
            error = errno
        }
        if error == EINPROGRESS || error == EALREADY || error == ENOTCONN { return false }
        close(reason: String(cString: strerror(error)))
        return false
    }

    /// Reads what the socket has (into `buffer`, then hiredis's reader) and completes the
    /// calls whose replies arrived.
    package func readAvailable(using buffer: UnsafeMutableRawBufferPointer) {
        while let reader {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n > 0 {
                // Fed a few KiB at a time: the reader shifts what it has not parsed to the front
                // of its buffer every 1 KiB it parses, so one 64 KiB feed would move about a
                // megabyte.
                var start = 0
                while start < n, self.reader != nil {
                    let count = min(Self.feedBytes, n - start)
                    guard redisReaderFeed(reader, (buffer.baseAddress! + start).assumingMemoryBound(to: CChar.self), count) == REDIS_OK else {
                        close(reason: "out of memory")
                        return
                    }
                    parseReplies(reader)
                    start += count
                }
                if n < buffer.count { return }
            } else if n == 0 {
                close(reason: "the server closed the connection")
                return
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return
            } else {
                close(reason: String(cString: strerror(errno)))
                return
            }
        }
    }

    /// Takes every complete reply from the reader. Strings, integers and nils were already
    /// delivered by the reader's functions; arrays are delivered here, once complete.
    private func parseReplies(_ reader: UnsafeMutablePointer<redisReader>) {
        while self.reader != nil {
            var object: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &object) == REDIS_OK else {
                let reason = withUnsafeBytes(of: reader.pointee.errstr) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                close(reason: "protocol error: \(reason)")
                return
            }
            if let object, object != RedisReplyBuilder.delivered {
                deliver(Unmanaged<RedisReplyBuilder.ArrayReply>.fromOpaque(object).takeRetainedValue().reply())
            }
            if unaskedReply {
                close(reason: "protocol error: a reply that no command asked for")
                return
            }
            if object == nil { return }
        }
    }

    /// Hands the next reply to the oldest waiting call.
    fileprivate func deliver(_ reply: consuming RedisReply) {
        guard head < waiting.count else {
            unaskedReply = true
            return
        }
        outstanding -= 1
        if waiting[head].received(reply) {
            head += 1
            if head == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= waiting.count {
                waiting.removeFirst(head)
                head = 0
            }
        }
    }

    /// Closes the connection: every call waiting on it fails with `reason`.
    package func close(reason: String) {
        guard let context else { return }
        closeReason = reason
        self.context = nil
        if let reader { redisReaderFree(reader) }
        reader = nil
        redisFree(context)
        let failed = waiting[head...]
        waiting = []
        head = 0
        outstanding = 0
        output = []
        written = 0
        for call in failed { call.finish(.failure(.redisUnreachable(url: url.description, reason: reason))) }
    }
}

/// The reply-object functions of a connection's `redisReader`: a whole reply that is not an
/// array goes straight to the connection's oldest call (bulk strings copied once, out of the
/// reader's buffer), and arrays are assembled, then delivered when complete.
private enum RedisReplyBuilder {
    /// What the functions return for an object already delivered (hiredis needs non-NULL).
    nonisolated(unsafe) static let delivered = UnsafeMutableRawPointer(bitPattern: 1)!

    /// An array reply being read; its elements are filled in as hiredis parses them.
    final class ArrayReply {
        var items: [RedisReply]
        var nested: [(index: Int, array: ArrayReply)] = []

        init(count: Int) { items = .init(repeating: .null, count: count) }

        func reply() -> RedisReply {
            for (index, array) in nested { items[index] = array.reply() }
            return .array(items)
        }
    }

    /// Puts `reply` where `task` says: its connection's oldest call, or its parent array.
    static func place(_ task: UnsafePointer<redisReadTask>?, _ reply: consuming RedisReply) -> UnsafeMutableRawPointer? {
        guard let task else { return nil }
        if let parent = task.pointee.parent, let obj = parent.pointee.obj {
            Unmanaged<ArrayReply>.fromOpaque(obj).takeUnretainedValue().items[Int(task.pointee.idx)] = reply
        } else if let privdata = task.pointee.privdata {
            Unmanaged<RedisAsyncConnection>.fromOpaque(privdata).takeUnretainedValue().deliver(reply)
        }
        return delivered
    }

    nonisolated(unsafe) static let functions: UnsafeMutablePointer<redisReplyObjectFunctions> = {
        let f = UnsafeMutablePointer<redisReplyObjectFunctions>.allocate(capacity: 1)
        f.initialize(to: redisReplyObjectFunctions(
            createString: { task, text, length in
                let bytes = UnsafeRawBufferPointer(start: text, count: length)
                switch task?.pointee.type ?? 0 {
                case REDIS_REPLY_STRING: return place(task, .bulk([UInt8](bytes)))
                case REDIS_REPLY_STATUS: return place(task, .status(String(decoding: bytes, as: UTF8.self)))
                default: return place(task, .error(String(decoding: bytes, as: UTF8.self)))
                }
            },
            createArray: { task, count in
                guard let task else { return nil }
                let array = ArrayReply(count: max(0, Int(count)))
                if let parent = task.pointee.parent, let obj = parent.pointee.obj {
                    // Held by its parent; delivered with it.
                    Unmanaged<ArrayReply>.fromOpaque(obj).takeUnretainedValue().nested.append((Int(task.pointee.idx), array))
                    return Unmanaged.passUnretained(array).toOpaque()
                }
                // The top: returned by redisReaderGetReply, or freed by freeObject on an error.
                return Unmanaged.passRetained(array).toOpaque()
            },
            createInteger: { task, value in place(task, .integer(Int64(value))) },
            createNil: { task in place(task, .null) },
            freeObject: { object in
                guard let object, object != delivered else { return }
                Unmanaged<ArrayReply>.fromOpaque(object).release()
            }))
        return f
    }()
}
