import Foundation

/// Why the learning state could not be read or written.
package enum RouteStateError: Error, LocalizedError, Equatable, Sendable {
    /// The file exists but is not a state database, or holds values that cannot be right.
    case damaged(path: String, reason: String)
    /// The file or its directory cannot be opened or written.
    case unavailable(path: String, reason: String)
    /// The Redis that gateways share their learning through cannot be reached or used.
    case sharedUnavailable(url: String, reason: String)

    /// The message for this error.
    package var errorDescription: String? {
        switch self {
        case .damaged(let path, let reason):
            "route state \(path) is damaged (\(reason)); it was left as it is: move it away, or start over with `copilot route serve --reset-state`"
        case .unavailable(let path, let reason):
            "cannot use route state \(path) (\(reason)); fix its permissions, set [route] state_path, or set [route] state = \"off\""
        case .sharedUnavailable(let url, let reason):
            "cannot use the shared route state at \(url) (\(reason)); start Redis there, fix [cache] url, or set [route] state = \"sqlite\""
        }
    }
}

/// What the gateway learned, kept in one SQLite file (mode 0600) so it survives restarts:
/// each (task, provider) posterior of the Thompson-sampling selector, by name, and each
/// task's tuner observations (generation parameters and the score they earned). A save
/// replaces every row in one transaction, so a kill leaves the previous save or the new
/// one, never a mix; two gateways on one file wait for each other (busy timeout).
package final class RouteStateStore: @unchecked Sendable {
    // @unchecked: the connection is used under `lock` only.
    /// The file.
    package let path: String
    private let lock = NSLock()
    private let database: SQLiteDatabase
    private static let schemaVersion = "1"
    private static let observationsTable = """
        CREATE TABLE observations (task TEXT NOT NULL, seq INTEGER NOT NULL, temperature REAL NOT NULL, top_p REAL NOT NULL,
            max_tokens INTEGER NOT NULL, score REAL NOT NULL, PRIMARY KEY (task, seq));
        """

    /// Opens (or creates) the state file at `path`. A file that is not a state database is
    /// reported, never overwritten.
    package init(path: String) throws {
        self.path = path
        do {
            database = try SQLiteDatabase(path: path)  // creates the file (0600) and its directory (0700)
            try database.execute("PRAGMA synchronous = FULL")
            // One immediate transaction: two gateways opening a new file at once do not both
            // create its tables (the second waits, then finds them).
            try database.transaction {
                let tables = try database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                var names: Set<String> = []
                while try tables.step() { names.insert(tables.text(0)) }
                if names.isEmpty {
                    try database.execute("""
                        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                        CREATE TABLE arms (task TEXT NOT NULL, provider TEXT NOT NULL, successes REAL NOT NULL, failures REAL NOT NULL,
                            recent REAL NOT NULL, recent_evidence REAL NOT NULL, PRIMARY KEY (task, provider));
                        INSERT INTO meta (key, value) VALUES ('schema', '\(Self.schemaVersion)');
                        \(Self.observationsTable)
                        """)
                    return
                }
                guard names.contains("meta") && names.contains("arms") else {
                    throw RouteStateError.damaged(path: path, reason: "a SQLite database without copilot's route tables")
                }
                let schema = try database.prepare("SELECT value FROM meta WHERE key = 'schema'")
                guard try schema.step(), schema.text(0) == Self.schemaVersion else {
                    throw RouteStateError.damaged(path: path, reason: "unknown schema version")
                }
                // A file saved before the tuner kept its observations gains their table.
                if !names.contains("observations") { try database.execute(Self.observationsTable) }
            }
        } catch let error as RouteStateError {
            throw error
        } catch CacheError.notADatabase {
            throw RouteStateError.damaged(path: path, reason: "not a SQLite database")
        } catch CacheError.storeUnavailable(_, let reason) {
            throw RouteStateError.unavailable(path: path, reason: reason)
        } catch {
            throw RouteStateError.damaged(path: path, reason: error.localizedDescription)
        }
    }

    /// The store at `path`, emptied; a damaged file there is first moved aside to
    /// `path.damaged-<unix time>` (kept, never deleted). What `--reset-state` does.
    package static func reset(path: String) throws -> RouteStateStore {
        do {
            let store = try RouteStateStore(path: path)
            try store.reset()
            return store
        } catch RouteStateError.damaged {
            let aside = path + ".damaged-\(Int(Date().timeIntervalSince1970))"
            for suffix in ["", "-wal", "-shm", "-journal"] where FileManager.default.fileExists(atPath: path + suffix) {
                guard rename(path + suffix, aside + suffix) == 0 else {
                    throw RouteStateError.unavailable(path: path, reason: "cannot move it aside: \(String(cString: strerror(errno)))")
                }
            }
            return try RouteStateStore(path: path)
        }
    }

    /// Every saved posterior. Values that cannot be evidence (negative, not finite) mean a
    /// damaged file.
    package func load() throws -> [LearnedArm] {
        try locked {
            let rows = try database.prepare("SELECT task, provider, successes, failures, recent, recent_evidence FROM arms ORDER BY task, provider")
            var arms: [LearnedArm] = []
            while try rows.step() {
                let values = (2...5).map { rows.double(Int32($0)) ?? -1 }
                guard values.allSatisfy({ $0.isFinite && $0 >= 0 }), values[2] <= 1 else {
                    throw RouteStateError.damaged(path: path, reason: "impossible evidence for \(rows.text(0))/\(rows.text(1))")
                }
                arms.append(LearnedArm(
                    task: rows.text(0), provider: rows.text(1),
                    posterior: QualityPosterior(successes: values[0], failures: values[1], recent: values[2], recentEvidence: values[3])))
            }
            return arms
        }
    }

    /// Every task's saved tuner observations, oldest first. A score outside 0...1 or a
    /// parameter that is not finite means a damaged file.
    package func loadObservations() throws -> [String: [TuningObservation]] {
        try locked {
            let rows = try database.prepare("SELECT task, temperature, top_p, max_tokens, score FROM observations ORDER BY task, seq")
            var result: [String: [TuningObservation]] = [:]
            while try rows.step() {
                let task = rows.text(0)
                let values = [1, 2, 4].map { rows.double(Int32($0)) ?? .nan }
                let maxTokens = rows.int64(3) ?? 0
                guard values.allSatisfy(\.isFinite), (0...1).contains(values[2]), maxTokens > 0 else {
                    throw RouteStateError.damaged(path: path, reason: "an impossible tuner observation for task \(task)")
                }
                result[task, default: []].append(TuningObservation(
                    parameters: GenerationParameters(temperature: values[0], topP: values[1], maxTokens: Int(maxTokens)), score: values[2]))
            }
            return result
        }
    }

    /// Replaces the saved posteriors with `arms` and the tuner observations with
    /// `observations` (by task, oldest first), atomically.
    package func save(_ arms: [LearnedArm], observations: [String: [TuningObservation]] = [:]) throws {
        try locked {
            try database.transaction {
                try database.execute("DELETE FROM observations")
                let observe = try database.prepare(
                    "INSERT INTO observations (task, seq, temperature, top_p, max_tokens, score) VALUES (?, ?, ?, ?, ?, ?)")
                for (task, list) in observations {
                    for (seq, o) in list.enumerated() {
                        observe.reset()
                        try observe.bind(1, task)
                        try observe.bind(2, Int64(seq))
                        try observe.bind(3, o.parameters.temperature)
                        try observe.bind(4, o.parameters.topP)
                        try observe.bind(5, Int64(o.parameters.maxTokens))
                        try observe.bind(6, o.score)
                        try observe.run()
                    }
                }
                try database.execute("DELETE FROM arms")
                let insert = try database.prepare(
                    "INSERT INTO arms (task, provider, successes, failures, recent, recent_evidence) VALUES (?, ?, ?, ?, ?, ?)")
                for arm in arms {
                    insert.reset()
                    try insert.bind(1, arm.task)
                    try insert.bind(2, arm.provider)
                    try insert.bind(3, arm.posterior.successes)
                    try insert.bind(4, arm.posterior.failures)
                    try insert.bind(5, arm.posterior.recent)
                    try insert.bind(6, arm.posterior.recentEvidence)
                    try insert.run()
                }
            }
        }
    }

    /// Forgets everything saved (`--reset-state`).
    package func reset() throws { try save([]) }

    private func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try body()
        } catch let error as RouteStateError {
            throw error
        } catch {
            throw RouteStateError.unavailable(path: path, reason: error.localizedDescription)
        }
    }
}
