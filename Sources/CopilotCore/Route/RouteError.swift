import Foundation

/// Errors of the router's commands (`copilot route pick|check|ask|serve|tune`) before any
/// HTTP, and of the feedback the learning parts are given.
package enum RouteError: Error, LocalizedError, Equatable {
    /// The configuration has no `[[route.providers]]`.
    case noProviders(path: String)
    /// No provider serves the model or alias.
    case unknownModel(String, known: [String])
    /// The task is not configured.
    case unknownTask(String, known: [String])
    /// A provider's `api_key_env` names a variable that is not set (the key itself is never shown).
    case missingAPIKey(provider: String, variable: String)
    /// A feedback score for the parameter tuner is not a number in 0...1.
    case scoreOutOfRange(Double)
    /// A generation parameter given to the tuner is NaN, infinite or outside its range.
    case parameterOutOfRange(name: String, value: Double, range: ClosedRange<Double>)
    /// A file of tuning observations could not be read or decoded.
    case unreadableObservations(path: String, reason: String)
    /// `route tune --task`: the gateway has learned nothing for the task; says why and what to do.
    case nothingLearned(String)

    /// The message for this error.
    package var errorDescription: String? {
        switch self {
        case .noProviders(let path):
            "\(path): no [[route.providers]]; add one with name, base_url and models (see config/copilot.toml)"
        case .unknownModel(let model, let known):
            "no provider serves model \"\(model)\"; known models: \(known.isEmpty ? "(none)" : known.joined(separator: ", "))"
        case .unknownTask(let task, let known):
            "task \"\(task)\" is not in [[route.tasks]]; known tasks: \(known.isEmpty ? "(none)" : known.joined(separator: ", "))"
        case .missingAPIKey(let provider, let variable):
            "provider \(provider): environment variable \(variable) (api_key_env) is not set; export it before starting"
        case .scoreOutOfRange(let score):
            "feedback score \(score) is not in 0...1; send 0 for the worst answer and 1 for the best"
        case .parameterOutOfRange(let name, let value, let range):
            "\(name) \(value) is outside the tuner's range \(range.lowerBound)...\(range.upperBound); send a finite value inside it"
        case .unreadableObservations(let path, let reason):
            "\(path): \(reason); expected a JSON array of {\"parameters\": {\"temperature\", \"top_p\", \"max_tokens\"}, \"score\"}"
        case .nothingLearned(let why):
            why
        }
    }
}

extension RouteSettings {
    /// Checks what the typed readers cannot: at least one provider, and (when `environment` is
    /// given) every `api_key_env` set. Returns the problems that do not stop a start-up
    /// (missing keys) as warnings.
    package func validate(path: String, environment: [String: String]? = nil) throws -> [RouteError] {
        guard !providers.isEmpty else { throw RouteError.noProviders(path: path) }
        guard let environment else { return [] }
        return providers.compactMap { p in
            guard let variable = p.apiKeyEnv, (environment[variable] ?? "").isEmpty else { return nil }
            return .missingAPIKey(provider: p.name, variable: variable)
        }
    }

    /// Checks a request's model and task names against the configuration.
    package func checkRequest(model: String, task: String?) throws {
        if let task, self.task(named: task) == nil {
            throw RouteError.unknownTask(task, known: tasks.map(\.name))
        }
        guard providers.contains(where: { $0.models.contains(model) || $0.aliases.contains(model) }) else {
            throw RouteError.unknownModel(model, known: modelNames)
        }
    }
}

/// What `copilot route pick` prints: the decision and every provider's standing.
package struct RoutePickReport: Codable, Sendable, Equatable {
    /// One ranked candidate.
    package struct Candidate: Codable, Sendable, Equatable {
        /// Provider name.
        package var provider: String
        /// 1 = the pick.
        package var rank: Int
        /// The selector's score.
        package var score: Double
        /// The provider's tier.
        package var tier: String
        /// Model name sent upstream.
        package var upstreamModel: String
        /// Breaker state.
        package var breaker: BreakerState

        enum CodingKeys: String, CodingKey {
            case provider, rank, score, tier, breaker
            case upstreamModel = "upstream_model"
        }
    }

    /// A provider left out.
    package struct Excluded: Codable, Sendable, Equatable {
        /// Provider name.
        package var provider: String
        /// Why.
        package var reason: RouteExclusion
    }

    /// Model asked for.
    package var model: String
    /// Task, if any.
    package var task: String?
    /// Chosen provider, if any.
    package var pick: String?
    /// Candidates best first.
    package var candidates: [Candidate]
    /// The rest.
    package var excluded: [Excluded]

    /// Builds the report of `decision` made by `router` at `now`.
    package init<S: ModelSelecting>(decision: RouteDecision, router: ProviderRouter<S>, model: String, task: String?, now: UInt64) {
        let providers = router.settings.providers
        self.model = model
        self.task = task
        pick = decision.pick.map { providers[$0].name }
        candidates = decision.ranked.enumerated().map { rank, c in
            Candidate(
                provider: providers[c.provider].name, rank: rank + 1, score: c.score, tier: providers[c.provider].tier,
                upstreamModel: router.upstreamModel(provider: c.provider, requested: model), breaker: router.breakerState(c.provider, now: now))
        }
        excluded = decision.excluded.map { Excluded(provider: providers[$0.provider].name, reason: $0.reason) }
    }

    /// One JSON object.
    package func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
    }

    /// A line for the pick, then one per provider.
    package func plain() -> String {
        var text = "pick: \(pick ?? "(none)") for model \(model)\(task.map { " task \($0)" } ?? "")\n"
        for c in candidates {
            text += "  \(c.rank). \(c.provider)  score \(String(format: "%.4f", c.score))  tier \(c.tier)  breaker \(c.breaker.rawValue)  model \(c.upstreamModel)\n"
        }
        for e in excluded { text += "  -  \(e.provider)  excluded: \(e.reason.rawValue)\n" }
        return text
    }
}
