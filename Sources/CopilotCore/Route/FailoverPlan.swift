/// The attempts of one request: candidates in ranked order, each tried once, then repeats of
/// the earliest ready one after backoff (or its `Retry-After`), all inside the deadline and
/// the attempt budget. Pure: the caller runs each attempt and reports how it ended.
package struct FailoverPlan: Sendable {
    /// What to do next.
    package enum Step: Sendable, Equatable {
        /// Call provider `provider` (an index into the router's providers) after `delayNs`.
        case attempt(provider: Int, delayNs: UInt64)
        /// Stop and report the last failure.
        case giveUp(GiveUpReason)
    }

    /// Why a request ended without an answer.
    package enum GiveUpReason: String, Sendable, Equatable {
        /// No provider serves the model, or every one is excluded, full or open.
        case noCandidates = "no_candidates"
        /// `max_attempts` were made.
        case attemptsExhausted = "attempts_exhausted"
        /// The next attempt could not start before the deadline.
        case deadline
        /// The last failure was the request's fault (4xx); no retry helps.
        case notRetryable = "not_retryable"
    }

    /// Ranked provider indices.
    package let candidates: [Int]
    /// Absolute deadline, monotonic nanoseconds.
    package let deadlineNs: UInt64
    /// Retry limits and backoff.
    package let policy: RetryPolicy
    /// Attempts started so far.
    package private(set) var attempts = 0
    /// Repeats (attempts after every candidate was tried once).
    package private(set) var retries = 0
    /// Attempts that went to a provider other than the first choice.
    package private(set) var fallbacks = 0
    private var tried = 0
    private var notBeforeNs: [UInt64]
    private var current = -1

    /// A plan over ranked `candidates` ending at `deadlineNs`. `notBeforeNs`, one per
    /// candidate when given, says when each may first be called (a `Retry-After` an earlier
    /// request was given): a candidate not ready yet is passed over while another is.
    package init(candidates: [Int], deadlineNs: UInt64, policy: RetryPolicy, notBeforeNs: [UInt64]? = nil) {
        self.candidates = candidates
        self.deadlineNs = deadlineNs
        self.policy = policy
        if let notBeforeNs, notBeforeNs.count == candidates.count {
            self.notBeforeNs = notBeforeNs
        } else {
            self.notBeforeNs = Array(repeating: 0, count: candidates.count)
        }
    }

    /// The provider of the attempt under way (`nil` before ``start(now:)``).
    package var currentProvider: Int? { current >= 0 ? candidates[current] : nil }

    /// The first attempt: the first ready candidate, else the one ready soonest, waited for
    /// when that fits before the deadline.
    package mutating func start(now: UInt64) -> Step {
        guard !candidates.isEmpty else { return .giveUp(.noCandidates) }
        guard now < deadlineNs else { return .giveUp(.deadline) }
        if let slot = candidates.indices.first(where: { notBeforeNs[$0] <= now }) {
            return begin(slot: slot, delayNs: 0)
        }
        let slot = candidates.indices.min { notBeforeNs[$0] < notBeforeNs[$1] } ?? 0
        let wait = notBeforeNs[slot] - now
        guard now &+ wait < deadlineNs else { return .giveUp(.deadline) }
        return begin(slot: slot, delayNs: wait)
    }

    /// The step after the current attempt failed with `failure` at `now`; `usable(i)` says
    /// whether provider `i` may be called at all now (its breaker and concurrency).
    package mutating func next<G: RandomNumberGenerator>(
        after failure: AttemptFailure, now: UInt64, using generator: inout G, usable: (Int) -> Bool
    ) -> Step {
        guard failure.isRetryable else { return .giveUp(.notRetryable) }
        if let after = failure.retryAfterMs, current >= 0 {
            notBeforeNs[current] = now &+ UInt64(after) * 1_000_000
        }
        guard attempts < policy.maxAttempts else { return .giveUp(.attemptsExhausted) }
        guard now < deadlineNs else { return .giveUp(.deadline) }
        // Untried candidates first, at once.
        while tried < candidates.count {
            let slot = tried
            if usable(candidates[slot]) && notBeforeNs[slot] <= now {
                return begin(slot: slot, delayNs: 0)
            }
            tried += 1
        }
        // Then a repeat of the earliest ready usable candidate, after backoff.
        var best = -1
        for slot in candidates.indices where usable(candidates[slot]) {
            if best < 0 || notBeforeNs[slot] < notBeforeNs[best] { best = slot }
        }
        guard best >= 0 else { return .giveUp(.noCandidates) }
        let backoff = policy.backoffNs(retry: retries + 1, using: &generator)
        let wait = notBeforeNs[best] > now ? notBeforeNs[best] - now : 0
        let delay = max(backoff, wait)
        guard now &+ delay < deadlineNs else { return .giveUp(.deadline) }
        retries += 1
        return begin(slot: best, delayNs: delay, isRepeat: true)
    }

    private mutating func begin(slot: Int, delayNs: UInt64, isRepeat: Bool = false) -> Step {
        attempts += 1
        if !isRepeat { tried = slot + 1 }
        if attempts > 1 && slot != current { fallbacks += 1 }
        current = slot
        return .attempt(provider: candidates[slot], delayNs: delayNs)
    }
}
