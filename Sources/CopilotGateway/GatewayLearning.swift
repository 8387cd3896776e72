import CopilotCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The learning side of a gateway: which provider answered which request with which
/// generation parameters (so a client's score reaches its posterior and its task's tuner),
/// the tuners, and the state file both are saved to.
final class GatewayLearning: Sendable {
    let ledger: Mutex<FeedbackLedger>
    /// Where the posteriors and observations are saved; nil with `[route] state = "off"`
    /// or when they are shared through Redis.
    let store: RouteStateStore?
    /// The Redis every gateway of a group shares what it learns through, or nil.
    let shared: RedisRouteState?
    /// Bumped by every outcome and score; the saver writes when it moved.
    let changes: Atomic<UInt64>
    /// The tasks' generation-parameter tuners; nil when every task says `tune = false`.
    let tuning: GatewayTuning?

    init(settings: RouteSettings, store: RouteStateStore?, shared: RedisRouteState? = nil, observations: [String: [TuningObservation]]) {
        let learning = settings.learning
        ledger = Mutex(FeedbackLedger(capacity: learning.feedbackCapacity, ttlSeconds: learning.feedbackTTLSeconds))
        self.store = store
        self.shared = shared
        changes = Atomic<UInt64>(0)
        tuning = settings.tasks.contains { $0.tune != .off }
            ? GatewayTuning(tasks: settings.tasks, seed: settings.seed, observations: observations, sharing: shared != nil) : nil
    }

    /// Remembers that `provider` answered `requestID`, sent with `parameters`.
    func remember(_ requestID: String, provider: Int, task: String?, parameters: GenerationParameters?) {
        let now = wallClockMs()
        ledger.withLock { $0.record(id: requestID, provider: provider, task: task, parameters: parameters, nowMs: now) }
    }

    func wallClockMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

/// `POST /v1/feedback`'s body, checked.
struct FeedbackRequest: Equatable {
    let requestID: String
    let score: Double

    /// Reads `{"request_id": "...", "score": 0.8}`; anything else is a ``GatewayError``.
    init(json bytes: ByteBuffer) throws {
        struct Body: Decodable {
            let request_id: String?
            let score: Double?
        }
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: Data(bytes.readableBytesView))
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.first?.stringValue == "score" {
            throw GatewayError.invalidScore("(not a number)")
        } catch {
            throw GatewayError.malformedJSON(reason: "expected an object {\"request_id\": \"...\", \"score\": 0.8}")
        }
        guard let id = body.request_id, !id.isEmpty else { throw GatewayError.missingField("request_id") }
        guard let score = body.score else { throw GatewayError.missingField("score") }
        guard score.isFinite, (0...1).contains(score) else { throw GatewayError.invalidScore(String(score)) }
        requestID = id
        self.score = score
    }
}

extension Gateway {
    /// Takes a client's score of answer `request.requestID`: the selector learns it for the
    /// provider that answered. Returns the JSON answer.
    func feedback(_ request: FeedbackRequest) throws -> String {
        guard let learning else { throw GatewayError.learningOff }
        let now = learning.wallClockMs()
        let taken = learning.ledger.withLock { $0.take(id: request.requestID, nowMs: now) }
        let entry: FeedbackLedger.Entry
        switch taken {
        case .success(let e): entry = e
        case .failure(.unknown): throw GatewayError.unknownRequestID(request.requestID)
        case .failure(.expired): throw GatewayError.feedbackExpired(request.requestID, ttlSeconds: settings.learning.feedbackTTLSeconds)
        case .failure(.alreadyScored): throw GatewayError.alreadyScored(request.requestID)
        }
        let provider = settings.providers[entry.provider].name
        let arm = router.withLock { r -> LearnedArm? in
            r.learn(RouteFeedback(provider: entry.provider, task: entry.task, score: request.score))
            return r.selector.learnedArms.first { $0.task == (entry.task ?? "") && $0.provider == provider }
        }
        var tuned: Bool?
        if let task = entry.task, let tuning = learning.tuning, tuning.tunes(task) {
            tuned = tuning.observe(task, parameters: entry.parameters, score: request.score)
        }
        learning.changes.add(1, ordering: .relaxed)
        var object: [String: Any] = ["ok": true, "request_id": request.requestID, "provider": provider, "score": request.score]
        object["task"] = entry.task ?? NSNull()
        if let arm { object["posterior"] = ["mean": arm.posterior.mean, "evidence": arm.posterior.evidence] }
        if let tuned, let parameters = entry.parameters {
            // Whether the tuner took the score for these parameters (not when one lies outside its box).
            object["parameters"] = GatewayTuning.json(parameters).merging(["observed": tuned]) { a, _ in a }
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes the posteriors to the state file when anything was learned since the last save,
    /// or exchanges them with the other gateways through Redis (every time: they learn too).
    /// `saved` is the change count of the last save.
    func saveLearning(after saved: UInt64) throws -> UInt64 {
        guard let learning else { return saved }
        if let shared = learning.shared {
            try exchangeLearning(shared, learning)
            return saved
        }
        guard let store = learning.store else { return saved }
        let now = learning.changes.load(ordering: .relaxed)
        guard now != saved else { return saved }
        try store.save(router.withLock { $0.selector.learnedArms }, observations: learning.tuning?.observations() ?? [:])
        return now
    }
}

extension Gateway {
    /// Sends this gateway's learning since the last exchange to the shared Redis and takes the
    /// others': each posterior moves by what the others added meanwhile (its own events since
    /// the snapshot stay), and their tuner observations join the tuners.
    func exchangeLearning(_ shared: RedisRouteState, _ learning: GatewayLearning) throws {
        let snapshot = router.withLock { $0.selector.learnedArms }
        let outbox = learning.tuning?.takeOutbox() ?? [:]
        let result: (arms: [LearnedArm], foreign: [String: [TuningObservation]])
        do {
            result = try shared.exchange(arms: snapshot, observations: outbox, tasks: learning.tuning?.tasks ?? [])
        } catch {
            learning.tuning?.returnOutbox(outbox)
            throw error
        }
        func byName(_ arms: [LearnedArm]) -> [LearnedArm.Name: QualityPosterior] {
            Dictionary(arms.map { ($0.name, $0.posterior) }) { a, _ in a }
        }
        let totals = byName(result.arms), before = byName(snapshot)
        router.withLock { r in
            // Arms with evidence here now, and arms only the others have evidence for.
            var now = byName(r.selector.learnedArms)
            for name in totals.keys where now[name] == nil { now[name] = QualityPosterior() }
            let merged = now.map { name, current -> LearnedArm in
                var p = current
                if let total = totals[name] {
                    let then = before[name] ?? QualityPosterior()
                    p.successes = max(0, p.successes + total.successes - then.successes)
                    p.failures = max(0, p.failures + total.failures - then.failures)
                    p.recentEvidence = min(p.recentEvidence, p.evidence)
                }
                return LearnedArm(task: name.task, provider: name.provider, posterior: p)
            }
            _ = r.updateSelector { $0.restore(merged) }
        }
        if !result.foreign.isEmpty { learning.tuning?.absorb(result.foreign) }
    }
}

/// Saves what the gateway learned every few seconds while anything changes, and once more
/// when it stops (after in-flight requests, which the server finishes first).
struct LearningStateService<Selector: ModelSelecting>: Service {
    let gateway: Gateway<Selector>
    let intervalSeconds: Double

    func run() async throws {
        var saved: UInt64 = 0
        var failing = false
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(intervalSeconds)) }
            } catch {
                break  // stopping
            }
            save(&saved, &failing)
        }
        save(&saved, &failing)
    }

    private func save(_ saved: inout UInt64, _ failing: inout Bool) {
        do {
            saved = try gateway.saveLearning(after: saved)
            failing = false
        } catch {
            // The gateway keeps serving and the next save tries again; said once per outage.
            if !failing { gateway.logger.error("cannot save the learning state: \(error.localizedDescription)") }
            failing = true
        }
    }
}
