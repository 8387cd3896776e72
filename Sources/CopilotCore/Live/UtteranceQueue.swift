import Foundation
import Synchronization

/// One piece of work for the transcription worker.
package enum UtteranceJob: Sendable, Equatable {
    /// Transcribe and commit an utterance (never dropped).
    case final(UtteranceAudio)
    /// Transcribe the audio up to the end of speech ahead of its final (may be wasted).
    case speculation(UtteranceAudio)
    /// A hypothesis of an utterance still going on (may be skipped).
    case partial(UtteranceAudio)
}

/// The hand-off between the cutter and the transcription worker, with the back-pressure
/// policy: finals queue in order and are never dropped; at most one partial waits (a newer
/// one replaces it, and a final of its utterance voids it), each counted as skipped; at most
/// one speculation waits. The worker takes finals first, then the speculation, then the
/// partial, so when decoding falls behind partials are skipped first. When
/// `maximumPendingFinals` finals wait, the cutter waits too, so the input is held back (a
/// file or a pipe) instead of audio piling up in memory.
///
/// A job already running can be made void too: a partial once a final or a speculation
/// arrives (the end of speech must not wait behind a hypothesis, which was the p95 tail of
/// the end-of-speech-to-final latency), a speculation once speech resumes in its utterance.
/// The worker polls ``abandonRequest`` between decoder steps and drops the job; a request
/// that is not ``AbandonRequest/urgent`` (a speculation arrived while a partial runs) leaves
/// the worker the choice to finish a partial that is almost done, when the final could not
/// be printed before the VAD closes the utterance anyway.
///
/// Thread-safe: one producer (the cutter) and one consumer (the worker).
package final class UtteranceQueue: @unchecked Sendable {
    /// Finals allowed to wait before ``submit(_:)`` blocks.
    package let maximumPendingFinals: Int

    private let condition = NSCondition()
    private var finals: [UtteranceAudio] = []
    private var partial: UtteranceAudio?
    private var speculation: UtteranceAudio?
    private var finished = false
    private var cancelled = false
    private var skipped = 0
    private var peakFinals = 0
    /// The job `next()` handed out last, while the worker may still be on it.
    private var running: UtteranceJob?
    /// When the running job was first asked to stop (monotonic ns), 0 when it was not.
    private let abandonSinceNs = Atomic<UInt64>(0)
    private let abandonUrgent = Atomic<Bool>(false)

    /// Why the running job should stop.
    package struct AbandonRequest: Sendable, Equatable {
        /// When it was first asked for, in monotonic nanoseconds.
        package var sinceNs: UInt64
        /// The job is void (its speech resumed) or something overdue waits (a final): stop
        /// at once. Otherwise a speculation waits, which may let a partial finish first.
        package var urgent: Bool
    }

    /// A queue letting `maximumPendingFinals` finals wait (at least 1).
    package init(maximumPendingFinals: Int = 4) {
        self.maximumPendingFinals = max(1, maximumPendingFinals)
    }

    /// Partials dropped so far (replaced, voided by their final, or never decoded).
    package var skippedPartials: Int {
        condition.lock()
        defer { condition.unlock() }
        return skipped
    }

    /// Most finals that waited at once.
    package var peakPendingFinals: Int {
        condition.lock()
        defer { condition.unlock() }
        return peakFinals
    }

    /// Producer: hands over what the cutter decided. A final waits while
    /// `maximumPendingFinals` are queued (not after ``cancel()``).
    package func submit(_ event: UtteranceEvent) {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        guard !cancelled else { return }
        switch event {
        case .partial(let audio):
            if partial != nil { skipped += 1 }
            partial = audio
        case .speculate(let audio):
            speculation = audio
            if case .partial = running { requestAbandon(urgent: false) }
        case .resumed(let utterance):
            if speculation?.utterance == utterance { speculation = nil }
            if case .speculation(let audio) = running, audio.utterance == utterance {
                requestAbandon(urgent: true)
            }
        case .final(let audio):
            if case .partial = running { requestAbandon(urgent: true) }
            if let waiting = partial, waiting.utterance <= audio.utterance {
                partial = nil
                skipped += 1
            }
            if let waiting = speculation, waiting.utterance == audio.utterance, waiting.endSample != audio.endSample {
                speculation = nil
            }
            while finals.count >= maximumPendingFinals && !cancelled { condition.wait() }
            guard !cancelled else { return }
            finals.append(audio)
            peakFinals = max(peakFinals, finals.count)
        }
    }

    /// Producer: no more events; the worker drains what is queued and then gets `nil`.
    package func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Either side: stop at once (the output failed); waiting calls return.
    package func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    /// Consumer: `true` once the job ``next()`` returned last has become void (a partial
    /// while a final or a speculation waits; a speculation whose utterance's speech resumed),
    /// so the worker should drop it. Lock-free: meant to be polled between decoder steps.
    package var shouldAbandonRunningJob: Bool {
        abandonSinceNs.load(ordering: .acquiring) != 0
    }

    /// Consumer: when and how urgently the running job was asked to stop; `nil` when it was
    /// not. Lock-free, like ``shouldAbandonRunningJob``.
    package var abandonRequest: AbandonRequest? {
        let since = abandonSinceNs.load(ordering: .acquiring)
        guard since != 0 else { return nil }
        return AbandonRequest(sinceNs: since, urgent: abandonUrgent.load(ordering: .acquiring))
    }

    /// With the lock held: asks the running job to stop (the first request's time is kept;
    /// an urgent one makes it urgent).
    private func requestAbandon(urgent: Bool) {
        if urgent { abandonUrgent.store(true, ordering: .releasing) }
        _ = abandonSinceNs.compareExchange(expected: 0, desired: max(1, LiveClock.nowNs()), ordering: .acquiringAndReleasing)
    }

    /// Consumer: the next job by priority, waiting for one; `nil` when finished and drained
    /// or cancelled. A final's speculation still waiting when the final arrives is not run
    /// (the final is decoded instead); a partial left when the input ends is skipped.
    package func next() -> UtteranceJob? {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        let job = waitForJob()
        running = job
        abandonUrgent.store(false, ordering: .releasing)
        abandonSinceNs.store(0, ordering: .releasing)
        return job
    }

    /// The body of ``next()``, with the lock held.
    private func waitForJob() -> UtteranceJob? {
        while true {
            if cancelled { return nil }
            if !finals.isEmpty {
                let final = finals.removeFirst()
                if speculation?.utterance == final.utterance { speculation = nil }
                return .final(final)
            }
            if let waiting = speculation {
                speculation = nil
                return .speculation(waiting)
            }
            if finished {
                if partial != nil {
                    partial = nil
                    skipped += 1
                }
                return nil
            }
            if let waiting = partial {
                partial = nil
                return .partial(waiting)
            }
            condition.wait()
        }
    }

    /// Consumer: `true` when a final of `utterance` (or a later one) is already queued, so a
    /// partial of it just decoded is stale; counts it as skipped.
    package func discardIfSuperseded(partialOf utterance: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard finals.contains(where: { $0.utterance >= utterance }) else { return false }
        skipped += 1
        return true
    }
}
