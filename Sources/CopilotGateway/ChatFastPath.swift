import CopilotCore
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// The hot path of `POST /v1/chat/completions`: a channel handler in each client connection's
/// pipeline, in front of Hummingbird, right after NIO's HTTP/1 decoder (before Hummingbird's
/// conversion to HTTPTypes, which costs about 6% of the instructions per request and which
/// the fast path does not need; ``ChatFastPathInstaller`` puts it there). It collects the request on the connection's event loop,
/// checks and routes it there (``ChatCompletions/prepare(headers:body:requestID:startNs:)``,
/// the same checks, routing, cache, failover, retries and metrics as the router's handler),
/// and writes the answer straight to the connection, without Hummingbird's per-request
/// machinery (router, the async channel's streams, the response writer). The answer from
/// plain-HTTP providers is produced on the loop with callbacks
/// (``ChatCompletions/answerOnLoop(_:on:cancellation:)``, no Swift task), a stream relayed
/// chunk by chunk from the upstream connection as it arrives (``relay(_:_:close:)``);
/// cacheable requests, hedges and mock or https providers run in one task.
///
/// Every other request passes through to Hummingbird unchanged, and so does a chat request
/// that arrives while Hummingbird is still answering an earlier request on the connection, so
/// answers keep their order. A request pipelined behind one of ours waits until ours has
/// ended. A graceful shutdown's quiesce event is held until our answer has ended, so the
/// in-flight request finishes before Hummingbird closes the connection. A client that goes
/// away cancels the task or the callbacks' exchange, which closes the upstream call.
final class ChatFastPath<Selector: ModelSelecting>: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        /// No request of ours on the connection.
        case idle
        /// Our request's head has come; its body is being collected.
        case receiving
        /// Our request is complete; its answer is being produced or written.
        case answering
    }

    private let chat: ChatCompletions<Selector>
    private let maxBodyBytes: Int
    private var phase = Phase.idle
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false
    /// Requests passed to Hummingbird whose answers have not ended yet.
    private var forwarded = 0
    /// Parts of requests pipelined behind ours, replayed once ours has ended.
    private var queued: [HTTPServerRequestPart] = []
    private var heldQuiesce = false
    private var task: Task<Void, Never>?
    /// The upstream call of an answer produced on the loop.
    private var cancellation: ExchangeCancellation?
    /// The stream being relayed from the loop, if any.
    private var relaying: ChatCompletions<Selector>.Relay?
    private var context: ChannelHandlerContext?
    /// The context of the connection's ``RawAnswerWriter``, next to the socket.
    private var rawContext: ChannelHandlerContext?

    init(chat: ChatCompletions<Selector>) {
        self.chat = chat
        maxBodyBytes = chat.gateway.settings.maxBodyBytes
    }

    /// Whether a request target is the chat-completions endpoint (a query string is ignored,
    /// as Hummingbird's router does).
    static func isChatPath(_ target: String?) -> Bool {
        guard let target else { return false }
        let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
        return path == "/v1/chat/completions"
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Answers made on the loop are written as bytes from the head of the pipeline, past
        // Hummingbird's HTTPTypes conversion and NIO's response encoder (about 5% of the
        // gateway's CPU per request at 64 connections). Streams from a task keep the encoders.
        let writer = RawAnswerWriter()
        do {
            try context.pipeline.syncOperations.addHandler(writer, position: .first)
            rawContext = try context.pipeline.syncOperations.context(handler: writer)
        } catch {
            rawContext = nil  // the encoders then write every answer
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        rawContext = nil
        task?.cancel()
        cancellation?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The client went away: the upstream call is cancelled with the task or the exchange.
        task?.cancel()
        cancellation?.cancel()
        context.fireChannelInactive()
    }

    // The pipeline calls the generic handler; these send it to code specialized for the
    // server's two selectors, with no generic metadata lookups per request (about 7% of the
    // instructions per request unspecialized, measured with callgrind).
    @_specialize(where Selector == ThompsonSelector)
    @_specialize(where Selector == HealthWeightedSelector)
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if phase == .answering {
            queued.append(part)
            return
        }
        switch part {
        case .head(let request):
            guard phase == .idle, forwarded == 0, request.method == .POST, Self.isChatPath(request.uri) else {
                forwarded += 1
                context.fireChannelRead(data)
                return
            }
            phase = .receiving
            head = request
            body = nil
            tooLarge = false
        case .body(var chunk):
            guard phase == .receiving else {
                context.fireChannelRead(data)
                return
            }
            if tooLarge || (body?.readableBytes ?? 0) + chunk.readableBytes > maxBodyBytes {
                tooLarge = true
                body = nil
            } else if body == nil {
                body = chunk  // the usual case: the whole body in one read, no copy
            } else {
                body!.writeBuffer(&chunk)
            }
        case .end:
            guard phase == .receiving, let head else {
                context.fireChannelRead(data)
                return
            }
            phase = .answering
            answer(head, body: tooLarge ? nil : (body ?? ByteBuffer()), eventLoop: context.eventLoop)
            self.head = nil
            body = nil
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), forwarded > 0 { forwarded -= 1 }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, phase != .idle {
            heldQuiesce = true  // Hummingbird would close the connection under our request
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Checks and routes the request, then writes its answer: at once for a request that
    /// fails its checks, from the loop's callbacks or from a task. `body` is nil when it was
    /// over the limit.
    private func answer(_ head: HTTPRequestHead, body: ByteBuffer?, eventLoop: any EventLoop) {
        let chat = self.chat
        let closeAfter = !head.isKeepAlive
        let startNs = monotonicNanoseconds()
        let requestID = chat.gateway.nextRequestID()
        let prepared: ChatCompletions<Selector>.Prepared
        do {
            let headers = ChatHeaders(head.headers)
            try chat.checkHeaders(headers)
            guard let body else { throw GatewayError.bodyTooLarge(limitBytes: maxBodyBytes) }
            prepared = try chat.prepare(headers: headers, body: body, requestID: requestID, startNs: startNs)
        } catch {
            writeWhole(chat.failed(error, requestID: requestID, cancelled: false), close: closeAfter)
            return
        }
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        if chat.answersOnLoop(prepared, streams: rawContext != nil) {
            let cancellation = ExchangeCancellation()
            self.cancellation = cancellation
            // Started, and later written, as tasks of the loop rather than inside the read
            // that completed them: the loop then reads every ready connection before it
            // writes, so the provider and the client get their bytes in bursts (measured at
            // 64 connections: about 15% less CPU per request than writing at once, which
            // wakes the other side for every request).
            eventLoop.execute {
                chat.answerOnLoop(prepared, on: eventLoop, cancellation: cancellation).whenSuccess { reply in
                    eventLoop.execute {
                        if let relay = reply.relay {
                            handler.value.relay(reply, relay, close: closeAfter)
                        } else {
                            handler.value.writeWhole(reply, close: closeAfter)
                        }
                    }
                }
            }
            return
        }
        let work: @Sendable () async -> Void = {
            await Self.run(chat, prepared: prepared, closeAfter: closeAfter, handler: handler, eventLoop: eventLoop)
        }
        task = Task(operation: work)
    }

    /// The head of an answer as this handler writes it.
    static func responseHead(_ reply: ChatCompletions<Selector>.Reply, streamed: Bool) -> HTTPResponseHead {
        var headers = HTTPHeaders(reply.headers.fields.map { ($0.name.rawName, $0.value) })
        headers.add(name: "Server", value: "copilot")  // as Hummingbird's answers say
        if !streamed { headers.add(name: "Content-Length", value: String(reply.body.readableBytes)) }
        return HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: reply.status), headers: headers)
    }

    /// The task of one request: the answer, then its writes on the connection's loop.
    private static func run(
        _ chat: ChatCompletions<Selector>, prepared: ChatCompletions<Selector>.Prepared, closeAfter: Bool, handler: NIOLoopBound<ChatFastPath>,
        eventLoop: any EventLoop
    ) async {
        let reply = await chat.reply(to: prepared)
        guard let stream = reply.stream else {
            onLoop(eventLoop) { handler.value.writeWhole(reply, close: closeAfter) }
            return
        }
        let response = responseHead(reply, streamed: true)
        onLoop(eventLoop) { _ = handler.value.send(.head(response), flush: false, on: eventLoop) }
        do {
            try await stream.pump { chunk in
                if eventLoop.inEventLoop {
                    try await handler.value.send(.body(.byteBuffer(chunk)), flush: true, on: eventLoop).get()
                } else {
                    try await eventLoop.flatSubmit { handler.value.send(.body(.byteBuffer(chunk)), flush: true, on: eventLoop) }.get()
                }
            }
            onLoop(eventLoop) { handler.value.end(close: closeAfter) }
        } catch {
            onLoop(eventLoop) { handler.value.end(close: true) }  // the client went away mid-stream
        }
    }

    /// Runs `body` on `eventLoop`: at once when already there (the task usually is: the event
    /// loops are the global executor, and a task stays on the loop that started it).
    private static func onLoop(_ eventLoop: any EventLoop, _ body: @escaping @Sendable () -> Void) {
        if eventLoop.inEventLoop { body() } else { eventLoop.execute(body) }
    }

    /// Writes a whole answer (not a stream) and ends it.
    private func writeWhole(_ reply: ChatCompletions<Selector>.Reply, close: Bool) {
        guard let context else { return }
        guard let rawContext else {
            context.write(wrapOutboundOut(.head(Self.responseHead(reply, streamed: false))), promise: nil)
            if reply.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(reply.body))), promise: nil) }
            end(close: close)
            return
        }
        rawContext.writeAndFlush(NIOAny(Self.encoded(reply, allocator: context.channel.allocator)), promise: nil)
        ended(close: close)
    }

    /// A whole answer as HTTP/1.1 bytes: what the codecs would write for ``responseHead(_:streamed:)``
    /// and the body (status line with its reason phrase, the fields as they are, then
    /// `content-length`).
    static func encoded(_ reply: ChatCompletions<Selector>.Reply, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = String(reply.body.readableBytes)
        var out = encodedHead(reply, framing: ("Content-Length: ", length), capacity: reply.body.readableBytes, allocator: allocator)
        out.writeImmutableBuffer(reply.body)
        return out
    }

    /// The head of a streamed answer and its first chunk as HTTP/1.1 bytes: what NIO's
    /// response encoder writes for ``responseHead(_:streamed:)`` (`transfer-encoding: chunked` added)
    /// and the chunk.
    static func encodedStreamStart(_ reply: ChatCompletions<Selector>.Reply, first: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = encodedHead(reply, framing: ("transfer-encoding: ", "chunked"), capacity: first.readableBytes + 16, allocator: allocator)
        appendChunk(first, to: &out)
        return out
    }

    /// `chunk` framed as HTTP/1.1 chunked encoding does (nothing for an empty one, which
    /// would end the body).
    static func appendChunk(_ chunk: ByteBuffer, to out: inout ByteBuffer) {
        guard chunk.readableBytes > 0 else { return }
        out.writeString(String(chunk.readableBytes, radix: 16))
        out.writeStaticString("\r\n")
        out.writeImmutableBuffer(chunk)
        out.writeStaticString("\r\n")
    }

    /// The last chunk of a chunked body.
    static var chunkedEnd: StaticString { "0\r\n\r\n" }

    /// The status line and fields of an answer, then `Server` and the field that frames the
    /// body (`framing`: its name with `: `, and its value), with room for `capacity` more bytes.
    private static func encodedHead(
        _ reply: ChatCompletions<Selector>.Reply, framing: (name: String, value: String), capacity: Int, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var out = allocator.buffer(capacity: 256 + capacity)
        out.writeStaticString("HTTP/1.1 ")
        out.writeString(String(reply.status))
        out.writeStaticString(" ")
        out.writeString(HTTPResponseStatus(statusCode: reply.status).reasonPhrase)
        out.writeStaticString("\r\n")
        // The fields copied in one pass over the buffer's memory (a write per piece costs an
        // exclusivity check and a capacity check each).
        let server = "Server: copilot\r\n"
        var length = server.utf8.count + framing.name.utf8.count + framing.value.utf8.count + 4
        for field in reply.headers.fields { length += field.name.rawName.utf8.count + field.value.utf8.count + 4 }
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { memory in
            var offset = 0
            func copy(_ text: String) {
                let copied = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
                    if let source = bytes.baseAddress {
                        UnsafeMutableRawBufferPointer(rebasing: memory[offset...]).copyMemory(from: UnsafeRawBufferPointer(start: source, count: bytes.count))
                    }
                    offset += bytes.count
                    return true
                }
                if copied == nil {
                    for byte in text.utf8 {
                        memory[offset] = byte
                        offset += 1
                    }
                }
            }
            for field in reply.headers.fields {
                copy(field.name.rawName)
                copy(": ")
                copy(field.value)
                copy("\r\n")
            }
            copy(server)
            copy(framing.name)
            copy(framing.value)
            copy("\r\n\r\n")
            return offset
        }
        return out
    }

    /// Relays a stream that has started (from ``ChatCompletions/answerOnLoop(_:on:cancellation:)``):
    /// the head and first chunk at once, then each chunk as it comes, as bytes from the head
    /// of the pipeline. A client that cannot keep up stops the upstream's reads until it can
    /// again; one that goes away closes the upstream connection.
    private func relay(_ reply: ChatCompletions<Selector>.Reply, _ relay: ChatCompletions<Selector>.Relay, close: Bool) {
        guard let context, let rawContext, let cancellation, cancellation.onCancel({ relay.rest.cancel() }) else {
            relay.rest.cancel()  // the client went away as the stream started
            relay.lease.abandon()
            return
        }
        relaying = relay
        rawContext.writeAndFlush(NIOAny(Self.encodedStreamStart(reply, first: relay.first, allocator: context.channel.allocator)), promise: nil)
        if !context.channel.isWritable { relay.rest.setReading(false) }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        relay.rest.attach(
            on: context.eventLoop, chunk: { handler.value.relayChunk($0) }, end: { handler.value.relayEnd($0, close: close) })
    }

    private func relayChunk(_ chunk: ByteBuffer) {
        guard let context, let rawContext, let relaying else { return }  // gone: the upstream is being closed
        var out = context.channel.allocator.buffer(capacity: chunk.readableBytes + 12)
        Self.appendChunk(chunk, to: &out)
        rawContext.writeAndFlush(NIOAny(out), promise: nil)
        if !context.channel.isWritable { relaying.rest.setReading(false) }
    }

    private func relayEnd(_ error: (any Error)?, close: Bool) {
        guard let relaying else { return }
        self.relaying = nil
        guard let context, let rawContext, cancellation?.isCancelled == false else {
            relaying.lease.abandon()  // the client went away; its cancellation closed the upstream
            return
        }
        var out = context.channel.allocator.buffer(capacity: error == nil ? 5 : 256)
        if error == nil {
            relaying.lease.finish(success: true, ttftNs: relaying.firstByteNs)
        } else {
            // After the first chunk there is no failing over: the client learns it in an event.
            relaying.lease.finish(success: false, ttftNs: relaying.firstByteNs)
            Self.appendChunk(ByteBuffer(string: ChatCompletions<Selector>.brokenStreamEvent(provider: relaying.providerName)), to: &out)
        }
        out.writeStaticString(Self.chunkedEnd)
        rawContext.writeAndFlush(NIOAny(out), promise: nil)
        ended(close: close)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        relaying?.rest.setReading(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    private func send(_ part: HTTPServerResponsePart, flush: Bool, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        // No context: the handler was removed with the connection.
        guard let context else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        if flush { return context.writeAndFlush(wrapOutboundOut(part)) }
        context.write(wrapOutboundOut(part), promise: nil)
        return context.eventLoop.makeSucceededVoidFuture()
    }

    /// Ends an answer written through the encoders (a stream, or any answer when the raw
    /// writer could not be added), then lets the connection go on.
    private func end(close: Bool) {
        context?.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        ended(close: close)
    }

    /// What follows the last byte of our answer: the connection closed when asked, handed to a
    /// held graceful shutdown, or on to the requests pipelined behind it.
    private func ended(close: Bool) {
        task = nil
        cancellation = nil
        relaying = nil
        phase = .idle
        guard let context else { return }
        if close {
            context.close(promise: nil)
            return
        }
        if heldQuiesce {
            heldQuiesce = false
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            return
        }
        let pending = queued
        queued = []
        guard !pending.isEmpty else { return }
        for part in pending { channelRead(context: context, data: NIOAny(part)) }
        // Hummingbird's inbound stream hands reads on at a read-complete; the one of these
        // parts went by while they were held.
        context.fireChannelReadComplete()
    }
}


/// Puts a connection's ``ChatFastPath`` right after NIO's HTTP/1 decoder, before Hummingbird's
/// HTTPTypes codec (Hummingbird adds its extra handlers after that codec). If the codec is not
/// there, no fast path is added and Hummingbird's router answers every request. It removes
/// itself once it has done that (until then it passes everything on).
final class ChatFastPathInstaller<Selector: ModelSelecting>: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    private let chat: ChatCompletions<Selector>

    init(chat: ChatCompletions<Selector>) {
        self.chat = chat
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        guard let codec = try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self) else { return }
        try? pipeline.addHandler(ChatFastPath(chat: chat), position: .before(codec))
        context.eventLoop.assumeIsolated().execute {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

/// Writes the bytes of a whole answer from the head of a connection's pipeline (added there
/// by ``ChatFastPath``), so they skip the HTTP encoders.
final class RawAnswerWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
}
