/// Which provider answered which request, for `feedback_ttl` seconds, so a client's later
/// score (`POST /v1/feedback`) reaches the right posterior. Bounded: past `capacity` answers
/// the oldest is forgotten first. A request takes one score; a second is refused.
///
/// Not thread-safe; the gateway keeps it behind a lock. Times are milliseconds passed in, so
/// a test drives it with a fake clock.
package struct FeedbackLedger: Sendable {
    /// What the ledger knows of one answered request.
    package struct Entry: Sendable, Equatable {
        /// Index into the router's providers: the one that answered.
        package var provider: Int
        /// Task type named by the request, if any.
        package var task: String?
        /// The generation parameters the request went with, when all three were known (the
        /// task's tuner learns the score for them).
        package var parameters: GenerationParameters?
        /// When feedback stops being taken, milliseconds.
        package var expiresAtMs: Int64
        /// True once a score was taken.
        package var scored: Bool
    }

    /// Why a score was not taken.
    package enum Refusal: Error, Equatable, Sendable {
        /// No answer with this id is remembered (never given, or forgotten for room).
        case unknown
        /// Its `feedback_ttl` has passed.
        case expired
        /// It was scored already.
        case alreadyScored
    }

    /// Answers remembered at most.
    package let capacity: Int
    /// How long an answer takes feedback, milliseconds.
    package let ttlMs: Int64
    private var entries: [String: Entry] = [:]
    private var order: [String] = []  // ring of ids, oldest at `head`
    private var head = 0

    /// A ledger for `capacity` answers, each taking feedback for `ttlSeconds`.
    package init(capacity: Int, ttlSeconds: Int) {
        self.capacity = max(1, capacity)
        ttlMs = Int64(max(1, ttlSeconds)) * 1000
    }

    /// Answers remembered now (expired ones included until they are pushed out).
    package var count: Int { entries.count }

    /// Remembers that `provider` answered request `id` at `nowMs`, sent with `parameters`.
    package mutating func record(id: String, provider: Int, task: String?, parameters: GenerationParameters? = nil, nowMs: Int64) {
        let entry = Entry(provider: provider, task: task, parameters: parameters, expiresAtMs: nowMs + ttlMs, scored: false)
        if entries.updateValue(entry, forKey: id) != nil { return }
        if order.count < capacity {
            order.append(id)
            return
        }
        // Full: the oldest id gives up its place.
        entries.removeValue(forKey: order[head])
        order[head] = id
        head = (head + 1) % capacity
    }

    /// The answer `id` names, marked scored; a ``Refusal`` when it cannot take a score now.
    package mutating func take(id: String, nowMs: Int64) -> Result<Entry, Refusal> {
        guard var entry = entries[id] else { return .failure(.unknown) }
        if nowMs >= entry.expiresAtMs { return .failure(.expired) }
        if entry.scored { return .failure(.alreadyScored) }
        entry.scored = true
        entries[id] = entry
        return .success(entry)
    }
}
