import CopilotCore
import NIOCore

extension ChatCompletions {
    /// The answer to `prepared` without a Swift task (for a request ``answersOnLoop(_:streams:)``):
    /// the failover plan run with callbacks on `eventLoop`, each attempt through its
    /// provider's pool from that loop, a retry's backoff a timer on it. It completes on
    /// `eventLoop`, never with an error, with the answers, counts and headers of
    /// ``reply(to:)``. Once `cancellation` is cancelled (the client went away) the upstream
    /// call is closed and the request is counted as closed by the client (499), not as its
    /// provider's failure. A stream's reply carries a ``ChatCompletions/Relay`` from its first
    /// chunk on (its lease still to be finished).
    func answerOnLoop(_ prepared: Prepared, on eventLoop: any EventLoop, cancellation: ExchangeCancellation) -> EventLoopFuture<Reply> {
        let attempts = LoopAttempts(chat: self, prepared: prepared, eventLoop: eventLoop, cancellation: cancellation)
        attempts.begin()
        return attempts.promise.futureResult
    }
}

/// One request's run through its failover plan on an event loop, for
/// ``ChatCompletions/answerOnLoop(_:on:cancellation:)``: the loop of ``ChatCompletions``'s
/// `answer` with each `await` turned into a callback.
final class LoopAttempts<Selector: ModelSelecting>: @unchecked Sendable {
    // @unchecked: made on `eventLoop` and touched only there (the futures it waits on complete
    // on that loop, its timer runs there, and the cancellation's action hops to it).
    typealias Chat = ChatCompletions<Selector>

    let promise: EventLoopPromise<Chat.Reply>
    private let chat: Chat
    private let prepared: Chat.Prepared
    private let eventLoop: any EventLoop
    private let cancellation: ExchangeCancellation
    private var plan: FailoverPlan
    /// Time spent in upstream calls and backoff: not the gateway's overhead.
    private var waitedNs: UInt64 = 0
    private var lastFailure: UpstreamFailure?
    /// The timer of a retry's backoff, while it runs.
    private var backoff: Scheduled<Void>?

    init(chat: Chat, prepared: Chat.Prepared, eventLoop: any EventLoop, cancellation: ExchangeCancellation) {
        self.chat = chat
        self.prepared = prepared
        self.eventLoop = eventLoop
        self.cancellation = cancellation
        plan = prepared.plan
        promise = eventLoop.makePromise(of: Chat.Reply.self)
    }

    func begin() {
        take(plan.start(now: prepared.startNs))
    }

    private func take(_ step: FailoverPlan.Step) {
        switch step {
        case .giveUp(let reason):
            chat.gateway.metrics.failover(fallbacks: plan.fallbacks, retries: plan.retries)
            let error = Chat.giveUpError(reason, last: lastFailure, model: prepared.chat.model, excluded: prepared.decision.excluded.count)
            promise.succeed(chat.failed(error, requestID: prepared.requestID, cancelled: false))
        case .attempt(let provider, let delayNs):
            guard delayNs > 0 else { return attempt(provider) }
            waitedNs &+= delayNs
            backoff = eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: delayNs))) { self.attempt(provider) }
            let eventLoop = self.eventLoop
            guard cancellation.onCancel({ eventLoop.execute { self.stopBackoff() } }) else { return stopBackoff() }
        }
    }

    /// The client went away during a backoff: no more attempts.
    private func stopBackoff() {
        guard let backoff else { return }  // the attempt has started; its own cancellation ends it
        backoff.cancel()
        self.backoff = nil
        cancelled()
    }

    private func cancelled() {
        promise.succeed(chat.failed(CancellationError(), requestID: prepared.requestID, cancelled: true))
    }

    private func attempt(_ provider: Int) {
        backoff = nil
        guard !cancellation.isCancelled else { return cancelled() }
        let attemptStart = monotonicNanoseconds()
        guard let (lease, upstreamModel) = chat.lease(provider, model: prepared.chat.model, task: prepared.task) else {
            return failed(provider, chat.unavailable(provider), attemptStart: attemptStart)
        }
        let caller = chat.gateway.callers[provider]
        let body = prepared.chat.body(for: upstreamModel), deadlineNs = prepared.decision.deadlineNs
        guard prepared.chat.stream else {
            caller.completion(body: body, deadlineNs: deadlineNs, on: eventLoop, cancellation: cancellation).whenComplete { result in
                self.ended(result, provider: provider, lease: lease, attemptStart: attemptStart) { bytes in
                    lease.finish(success: true, ttftNs: monotonicNanoseconds())
                    self.waitedNs &+= monotonicNanoseconds() &- attemptStart
                    return self.chat.completed(bytes, lease: lease, prepared: self.prepared, waitedNs: self.waitedNs)
                }
            }
            return
        }
        caller.stream(body: body, deadlineNs: deadlineNs, on: eventLoop, cancellation: cancellation).whenComplete { result in
            self.ended(result, provider: provider, lease: lease, attemptStart: attemptStart) { start in
                // The lease is finished when the stream ends.
                let firstByteNs = monotonicNanoseconds()
                self.waitedNs &+= firstByteNs &- attemptStart
                return self.chat.relayed(start.first, rest: start.rest, lease: lease, firstByteNs: firstByteNs, prepared: self.prepared, waitedNs: self.waitedNs)
            }
        }
    }

    /// What follows an attempt's call: the reply `answered` makes of its result, the next
    /// step after its failure, or the end of a cancelled request.
    private func ended<Value>(
        _ result: Result<Value, any Error>, provider: Int, lease: AttemptLease<Selector>, attemptStart: UInt64, answered: (Value) -> Chat.Reply
    ) {
        switch result {
        case .success(let value):
            chat.gateway.metrics.failover(fallbacks: plan.fallbacks, retries: plan.retries)
            promise.succeed(answered(value))
        case .failure(let failure as UpstreamFailure):
            lease.finish(success: false, ttftNs: nil)
            failed(provider, failure, attemptStart: attemptStart)
        case .failure:
            lease.abandon()  // cancelled: neither for nor against the provider
            cancelled()
        }
    }

    private func failed(_ provider: Int, _ failure: UpstreamFailure, attemptStart: UInt64) {
        let now = monotonicNanoseconds()
        waitedNs &+= now &- attemptStart
        lastFailure = failure
        take(chat.next(&plan, after: failure, of: provider, requestID: prepared.requestID, now: now))
    }
}
