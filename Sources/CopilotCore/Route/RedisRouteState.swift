import Foundation

/// What several gateways learn, shared through one Redis (`[route] state = "redis"`, or the
/// default when the cache is on Redis): each gateway keeps learning in memory at full speed and,
/// every few seconds, exchanges what it learned since the last exchange for what the others did.
///
/// - Posteriors: one hash, `<namespace>route:arms`, with fields `s` and `f` (successes and
///   failures) per task and provider. A gateway adds its change since the last exchange with
///   `HINCRBYFLOAT` (atomic, so gateways never overwrite each other) and reads the totals back.
///   Forgetting composes: two gateways that each discount the shared evidence by γ^a and γ^b
///   leave it at 1 − (1 − γ^a) − (1 − γ^b) of itself, which is γ^(a+b) to first order.
/// - Tuner observations: one stream per task, `<namespace>route:tuning:<task>`, capped at about
///   ``ParameterTuner/maxObservations`` entries; each entry names the gateway that added it, so
///   a gateway reads only the others' new entries after the id it saw last.
///
/// Not thread-safe across calls of different threads at once: the gateway's saver calls it
/// from one task at a time (a lock makes a stray concurrent call wait).
package final class RedisRouteState: @unchecked Sendable {
    // @unchecked: every field is used under `lock`.
    /// The server, password masked when printed.
    package let url: RedisURL
    private let prefix: String
    /// This gateway's name in the streams (random per process).
    package let instance: String
    private let timeoutMs: Int
    private let lock = NSLock()
    private var connection: RedisConnection?
    /// Totals after the last exchange, by task and provider.
    private var base: [LearnedArm.Name: (successes: Double, failures: Double)] = [:]
    /// The last stream id read, by task.
    private var seen: [String: String] = [:]

    /// A store on `url` under `namespace` (the cache's, e.g. `copilot:`). Nothing is
    /// contacted until the first call.
    package init(url: RedisURL, namespace: String, timeoutMs: Int = 2000, instance: String = UUID().uuidString) {
        self.url = url
        prefix = namespace + "route:"
        self.instance = instance
        self.timeoutMs = timeoutMs
    }

    private var armsKey: [UInt8] { Array((prefix + "arms").utf8) }
    private func streamKey(_ task: String) -> [UInt8] { Array((prefix + "tuning:" + task).utf8) }

    /// The shared posteriors (what every gateway learned), which also become the base of the
    /// next ``exchange(arms:observations:tasks:)``.
    package func load() throws -> [LearnedArm] {
        try locked { c in
            let totals = try Self.parseArms(c.command([Array("HGETALL".utf8), armsKey]), url: url)
            base = totals
            return Self.arms(totals)
        }
    }

    /// Every shared observation of each of `tasks`, oldest first; later exchanges return only
    /// the entries added after these.
    package func loadObservations(tasks: [String]) throws -> [String: [TuningObservation]] {
        try locked { c in
            let replies = try c.pipeline(tasks.map { [Array("XRANGE".utf8), streamKey($0), Array("-".utf8), Array("+".utf8)] })
            var result: [String: [TuningObservation]] = [:]
            for (task, reply) in zip(tasks, replies) {
                let list = try read(reply, of: task).compactMap(\.observation)
                if !list.isEmpty { result[task] = list }
            }
            return result
        }
    }

    /// Adds this gateway's learning since the last exchange (`arms` as they are now, against the
    /// totals read last time; `observations`, its new tuner observations by task) and returns
    /// the totals with every gateway's learning in them, and the other gateways' observations
    /// of `tasks` added since the last exchange. On an error nothing is taken as sent: the
    /// next exchange sends the same change again.
    package func exchange(
        arms: [LearnedArm], observations: [String: [TuningObservation]], tasks: [String]
    ) throws -> (arms: [LearnedArm], foreign: [String: [TuningObservation]]) {
        try locked { c in
            var commands: [[[UInt8]]] = []
            for arm in arms {
                let key = arm.name
                let before = base[key] ?? (0, 0)
                for (field, now, then) in [("s", arm.posterior.successes, before.successes), ("f", arm.posterior.failures, before.failures)] {
                    let delta = now - then
                    guard delta.isFinite, abs(delta) > 1e-12 else { continue }
                    commands.append([Array("HINCRBYFLOAT".utf8), armsKey, Self.field(field, key), Array(String(delta).utf8)])
                }
            }
            for (task, list) in observations.sorted(by: { $0.key < $1.key }) {
                for o in list {
                    let p = o.parameters
                    let fields = [
                        "MAXLEN", "~", String(ParameterTuner.maxObservations), "*", "gateway", instance,
                        "temperature", String(p.temperature), "top_p", String(p.topP), "max_tokens", String(p.maxTokens), "score", String(o.score),
                    ]
                    commands.append([Array("XADD".utf8), streamKey(task)] + fields.map { Array($0.utf8) })
                }
            }
            let written = commands.count
            commands.append([Array("HGETALL".utf8), armsKey])
            for task in tasks {
                let after = seen[task].map { "(" + $0 } ?? "-"
                commands.append([Array("XRANGE".utf8), streamKey(task), Array(after.utf8), Array("+".utf8)])
            }
            let replies = try c.pipeline(commands)
            for reply in replies.prefix(written) {
                if case .error(let message) = reply { throw CacheError.redisCommand(url: url.description, command: "HINCRBYFLOAT/XADD", message: message) }
            }
            let totals = try Self.parseArms(replies[written], url: url)
            var foreign: [String: [TuningObservation]] = [:]
            for (task, reply) in zip(tasks, replies[(written + 1)...]) {
                let theirs = try read(reply, of: task).filter { $0.gateway != instance }.compactMap(\.observation)
                if !theirs.isEmpty { foreign[task] = theirs }
            }
            base = totals
            return (Self.arms(totals), foreign)
        }
    }

    /// Deletes everything shared (`--reset-state`): the posteriors and the tasks' streams.
    package func reset(tasks: [String]) throws {
        try locked { c in
            _ = try c.pipeline([[Array("DEL".utf8), armsKey]] + tasks.map { [Array("DEL".utf8), streamKey($0)] })
            base = [:]
            seen = [:]
        }
    }

    /// The entries of `task`'s stream in an XRANGE reply; the last one's id is where the next
    /// exchange reads on from.
    private func read(_ reply: RedisReply, of task: String) throws -> [StreamEntry] {
        let entries = try Self.parseStream(reply, url: url)
        if let last = entries.last { seen[task] = last.id }
        return entries
    }

    private static func field(_ name: String, _ key: LearnedArm.Name) -> [UInt8] {
        // NUL separates the parts: task and provider names are text without NUL.
        Array(name.utf8) + [0] + Array(key.task.utf8) + [0] + Array(key.provider.utf8)
    }

    private static func arms(_ totals: [LearnedArm.Name: (successes: Double, failures: Double)]) -> [LearnedArm] {
        totals.map { key, v in
            LearnedArm(task: key.task, provider: key.provider, posterior: QualityPosterior(successes: v.successes, failures: v.failures))
        }.sorted { ($0.task, $0.provider) < ($1.task, $1.provider) }
    }

    /// HGETALL's flat array of fields and values; totals below zero (rounding of the deltas)
    /// count as zero; a field or value that is not ours means a damaged key.
    static func parseArms(_ reply: RedisReply, url: RedisURL) throws -> [LearnedArm.Name: (successes: Double, failures: Double)] {
        guard case .array(let items) = reply, items.count % 2 == 0 else {
            throw RouteStateError.damaged(path: url.description, reason: "the posteriors hash is not a hash (\(reply))")
        }
        var totals: [LearnedArm.Name: (successes: Double, failures: Double)] = [:]
        for i in stride(from: 0, to: items.count, by: 2) {
            guard case .bulk(let name) = items[i], case .bulk(let text) = items[i + 1],
                let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite
            else { throw RouteStateError.damaged(path: url.description, reason: "a posterior field that is not evidence") }
            let parts = name.split(separator: 0, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == [UInt8]("s".utf8)[...] || parts[0] == [UInt8]("f".utf8)[...] else {
                throw RouteStateError.damaged(path: url.description, reason: "an unknown posterior field")
            }
            let key = LearnedArm.Name(task: String(decoding: parts[1], as: UTF8.self), provider: String(decoding: parts[2], as: UTF8.self))
            var v = totals[key] ?? (0, 0)
            if parts[0].first == UInt8(ascii: "s") { v.successes = max(0, value) } else { v.failures = max(0, value) }
            totals[key] = v
        }
        return totals
    }

    struct StreamEntry {
        var id: String
        var gateway: String
        /// Nil for an entry whose values cannot be an observation (skipped, never fatal: another
        /// gateway's bad entry must not stop this one).
        var observation: TuningObservation?
    }

    /// XRANGE's entries: each `[id, [field, value, ...]]`.
    static func parseStream(_ reply: RedisReply, url: RedisURL) throws -> [StreamEntry] {
        if case .null = reply { return [] }
        guard case .array(let items) = reply else {
            throw RouteStateError.damaged(path: url.description, reason: "a tuning stream that is not a stream (\(reply))")
        }
        return items.compactMap { item -> StreamEntry? in
            guard case .array(let pair) = item, pair.count == 2, case .bulk(let id) = pair[0], case .array(let fields) = pair[1] else { return nil }
            var values: [String: String] = [:]
            for i in stride(from: 0, to: fields.count - 1, by: 2) {
                if case .bulk(let k) = fields[i], case .bulk(let v) = fields[i + 1] {
                    values[String(decoding: k, as: UTF8.self)] = String(decoding: v, as: UTF8.self)
                }
            }
            var observation: TuningObservation?
            if let t = values["temperature"].flatMap(Double.init), let p = values["top_p"].flatMap(Double.init),
                let m = values["max_tokens"].flatMap(Int.init), let s = values["score"].flatMap(Double.init),
                t.isFinite, p.isFinite, m > 0, s.isFinite, (0...1).contains(s)
            {
                observation = TuningObservation(parameters: GenerationParameters(temperature: t, topP: p, maxTokens: m), score: s)
            }
            return StreamEntry(id: String(decoding: id, as: UTF8.self), gateway: values["gateway"] ?? "", observation: observation)
        }
    }

    /// Runs `body` on a connection (opened when there is none); a connection that failed is
    /// dropped so the next call reconnects. Errors name the URL, never its password.
    private func locked<T>(_ body: (RedisConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        do {
            if connection?.broken ?? true { connection = try RedisConnection(url: url, timeoutMs: timeoutMs) }
            return try body(connection!)
        } catch let error as RouteStateError {
            throw error
        } catch {
            if connection?.broken ?? false { connection = nil }
            let reason: String
            switch error {
            case CacheError.redisUnreachable(_, let why): reason = why
            case CacheError.redisAuthentication(_, let why): reason = "authentication failed: \(why)"
            case CacheError.redisCommand(_, let command, let message): reason = "\(command): \(message)"
            default: reason = error.localizedDescription
            }
            throw RouteStateError.sharedUnavailable(url: url.description, reason: reason)
        }
    }
}
