import CopilotCore
import Foundation
import Synchronization

/// The generation-parameter tuners of a learning gateway, one per task type whose `tune` is
/// not `false`: each learns from the feedback scores of its task's answers which
/// `temperature`, `top_p` and `max_tokens` earn the best scores (``ParameterTuner``).
///
/// A request reads its task's current suggestion (a lock and a copy); the suggestion is
/// worked out off the request path, on a detached task, each time a score arrives (a model
/// fit takes milliseconds, up to a few hundred at 200 observations). Until a task's first
/// score nothing is suggested, so a gateway nobody scores changes no request.
final class GatewayTuning: Sendable {
    /// One task's tuner and what it suggests now.
    struct TaskState: Sendable {
        var mode: TuningMode
        var tuner = ParameterTuner()
        /// What requests get now; nil before the first score.
        var current: GenerationParameters?
        /// The last suggestion and the best so far, for `/health` and `route stats`.
        var report: TuningReport?
        /// Scores not yet in `tuner` (a refresh folds them in and then drops them here).
        var pending: [TuningObservation] = []
        /// Whether a refresh has the tuner now.
        var busy = false
        /// Suggestions made (the seed of the next one's candidate draw).
        var suggestions: UInt64 = 0
        /// This gateway's scores not yet sent to the other gateways (only when sharing).
        var outbox: [TuningObservation] = []
    }

    private let state: Mutex<[String: TaskState]>
    private let seed: UInt64
    /// Whether observations are shared with other gateways (kept in each task's outbox).
    private let sharing: Bool

    /// Tuners for `tasks` (those with `tune` not `off`), restored from `observations`; a task
    /// with saved observations suggests again at once.
    init(tasks: [TaskSettings], seed: UInt64, observations: [String: [TuningObservation]], sharing: Bool = false) {
        var states: [String: TaskState] = [:]
        for task in tasks where task.tune != .off {
            var s = TaskState(mode: task.tune)
            if let saved = observations[task.name] {
                // Observations outside today's box (none, with a fixed box) are dropped, not fatal.
                try? s.tuner.restore(saved.filter { (try? s.tuner.space.check($0.parameters, score: $0.score)) != nil })
            }
            states[task.name] = s
        }
        state = Mutex(states)
        self.seed = seed
        self.sharing = sharing
        for (task, s) in states where !s.tuner.observations.isEmpty { refresh(task) }
    }

    /// Whether `task` has a tuner.
    func tunes(_ task: String) -> Bool { state.withLock { $0[task] != nil } }

    /// What a request of `task` goes with now, and which of its own parameters it overrides;
    /// nil when the task is not tuned or has had no score yet.
    func current(_ task: String) -> (parameters: GenerationParameters, mode: TuningMode)? {
        state.withLock { states in
            guard let s = states[task], let p = s.current else { return nil }
            return (p, s.mode)
        }
    }

    /// Takes `score` for an answer of `task` sent with `parameters` (nil when one of the
    /// three was not known: then the score only starts the task's tuning). Returns whether an
    /// observation was recorded.
    @discardableResult
    func observe(_ task: String, parameters: GenerationParameters?, score: Double) -> Bool {
        let recorded = update(task) { s -> Bool in
            guard let parameters, (try? s.tuner.space.check(parameters, score: score)) != nil else { return false }
            s.pending.append(TuningObservation(parameters: parameters, score: score))
            if sharing { s.outbox.append(TuningObservation(parameters: parameters, score: score)) }
            return true
        }
        guard let recorded else { return false }
        refresh(task)
        return recorded
    }

    /// Every task's observations (what is saved), oldest first, scores still being taken included.
    func observations() -> [String: [TuningObservation]] {
        state.withLock { states in
            var result: [String: [TuningObservation]] = [:]
            for (task, s) in states {
                let all = s.tuner.observations + s.pending
                if !all.isEmpty { result[task] = all }
            }
            return result
        }
    }

    /// The tuned tasks' names.
    var tasks: [String] { state.withLock { $0.keys.sorted() } }

    /// Takes every task's scores not yet sent to the other gateways.
    func takeOutbox() -> [String: [TuningObservation]] {
        state.withLock { states in
            var taken: [String: [TuningObservation]] = [:]
            for task in states.keys where !states[task]!.outbox.isEmpty {
                taken[task] = states[task]!.outbox
                states[task]!.outbox = []
            }
            return taken
        }
    }

    /// Puts back scores ``takeOutbox()`` took that could not be sent (in front: order kept).
    func returnOutbox(_ unsent: [String: [TuningObservation]]) {
        state.withLock { states in
            for (task, list) in unsent where states[task] != nil { states[task]!.outbox.insert(contentsOf: list, at: 0) }
        }
    }

    /// Takes other gateways' observations into the tasks' tuners (as scores of its own,
    /// but not sent on again).
    func absorb(_ foreign: [String: [TuningObservation]]) {
        for (task, list) in foreign {
            let taken = update(task) { s -> Bool in
                let valid = list.filter { (try? s.tuner.space.check($0.parameters, score: $0.score)) != nil }
                s.pending.append(contentsOf: valid)
                return !valid.isEmpty
            }
            if taken == true { refresh(task) }
        }
    }

    /// Per task: mode, observations, current parameters and the best so far (`/health`).
    func summary() -> [[String: Any]] {
        state.withLock { states in
            states.keys.sorted().map { task -> [String: Any] in
                let s = states[task]!
                var o: [String: Any] = ["task": task, "mode": s.mode.rawValue, "observations": s.tuner.observations.count + s.pending.count]
                if let p = s.current { o["current"] = Self.json(p) }
                if let best = s.report?.best {
                    var b = Self.json(best.parameters)
                    if let mean = best.predictedScore { b["predicted_score"] = mean }
                    o["best"] = b
                }
                if let next = s.report?.suggestion { o["basis"] = next.basis.rawValue }
                return o
            }
        }
    }

    static func json(_ p: GenerationParameters) -> [String: Any] {
        ["temperature": p.temperature, "top_p": p.topP, "max_tokens": p.maxTokens]
    }

    /// Works out `task`'s next suggestion off the caller's thread, folding in every pending
    /// score; one refresh per task at a time (a later score is picked up by the running one).
    private func refresh(_ task: String) {
        let claimed = update(task) { s -> Bool in
            guard !s.busy else { return false }
            s.busy = true
            return true
        }
        guard claimed == true else { return }
        Task.detached(priority: .utility) { [self] in
            while true {
                // Copy the tuner out and refit it unlocked. The scores it folds in stay pending
                // until it is put back, so a save meanwhile still finds every observation.
                let (taken, pending, n) = update(task) { s in
                    s.suggestions &+= 1
                    return (s.tuner, s.pending, s.suggestions)
                }!
                var tuner = taken
                for o in pending { try? tuner.observe(o.parameters, score: o.score) }
                var generator = SplitMix64(seed: seed &+ n &* 0x9E37_79B9_7F4A_7C15)
                let report = (try? tuner.suggest(using: &generator)).map { TuningReport(suggestion: $0, best: try? tuner.best()) }
                let done = update(task) { s -> Bool in
                    s.tuner = tuner
                    s.pending.removeFirst(pending.count)
                    if let report {
                        s.report = report
                        s.current = Self.sendable(report.suggestion.parameters, in: tuner.space)
                    }
                    s.busy = !s.pending.isEmpty
                    return !s.busy
                }!
                if done { return }
            }
        }
    }

    /// Runs `body` on `task`'s state in place, under the lock; nil when the task is not tuned.
    private func update<T>(_ task: String, _ body: (inout TaskState) -> T) -> T? {
        state.withLock { states in
            guard states[task] != nil else { return nil }
            return body(&states[task]!)
        }
    }

    /// `p` as it goes into a request body: temperature and top_p to three decimals (what is
    /// sent is what is observed), kept inside the box.
    static func sendable(_ p: GenerationParameters, in space: ParameterSpace) -> GenerationParameters {
        func round3(_ x: Double, _ r: ClosedRange<Double>) -> Double { min(max((x * 1000).rounded() / 1000, r.lowerBound), r.upperBound) }
        return GenerationParameters(
            temperature: round3(p.temperature, space.temperature), topP: round3(p.topP, space.topP),
            maxTokens: min(max(p.maxTokens, space.maxTokens.lowerBound), space.maxTokens.upperBound))
    }
}
