import Foundation

/// How a provider is reached.
package enum ProviderKind: String, CaseIterable, Sendable, Codable {
    /// An OpenAI-compatible HTTP server at `base_url` (Ollama, llama.cpp, vLLM, hosted APIs).
    case openai
    /// Answers inside the gateway (a fixed or echoed reply, optional delay and failure rate),
    /// to try a configuration with no LLM and to give tests and benchmarks a fast upstream.
    case mock
}

/// What a `mock` provider answers.
package enum MockReplyMode: String, CaseIterable, Sendable, Codable {
    /// `mock_reply`, always.
    case fixed
    /// The last user message, repeated back.
    case echo
}

/// One `[[route.providers]]` entry.
package struct ProviderSettings: Sendable, Equatable {
    /// Unique name, shown in `x-copilot-provider`, metrics and stats.
    package var name: String
    /// Transport.
    package var kind: ProviderKind
    /// OpenAI-compatible base URL ending before `/chat/completions`, e.g. `http://127.0.0.1:11434/v1`.
    package var baseURL: String
    /// Model names the provider serves; requests name one of these (or an alias).
    package var models: [String]
    /// Other names clients may ask for; they map to the provider's first model.
    package var aliases: [String]
    /// Environment variable holding the API key (the key is never in the file).
    package var apiKeyEnv: String?
    /// Free-form tier label tasks select on (`local`, `fast`, `premium`, ...).
    package var tier: String
    /// Cost per 1000 input tokens, in the user's currency.
    package var costInputPer1k: Double
    /// Cost per 1000 output tokens.
    package var costOutputPer1k: Double
    /// Capabilities the provider offers (`code`, `vision`, `tools`, ...).
    package var capabilities: [String]
    /// Static share of traffic among equally healthy providers (> 0).
    package var weight: Double
    /// Requests in flight at once; further requests go elsewhere.
    package var maxConcurrency: Int
    /// Whole-request timeout for one attempt, in milliseconds.
    package var timeoutMs: Int
    /// Time-to-first-token timeout of one streamed attempt (status line and first chunk), in
    /// milliseconds; a non-streamed answer arrives whole, so only `timeoutMs` bounds it.
    package var ttftTimeoutMs: Int
    /// `mock` only: reply mode.
    package var mockMode: MockReplyMode
    /// `mock` only: the fixed reply.
    package var mockReply: String
    /// `mock` only: delay before answering (and between streamed chunks), in milliseconds.
    package var mockDelayMs: Int
    /// `mock` only: probability that a request fails with HTTP 500, 0...1.
    package var mockFailureRate: Double

    /// A provider with every optional key at its default.
    package init(name: String, kind: ProviderKind = .openai, baseURL: String, models: [String]) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL
        self.models = models
        aliases = []
        apiKeyEnv = nil
        tier = "default"
        costInputPer1k = 0
        costOutputPer1k = 0
        capabilities = []
        weight = 1
        maxConcurrency = 256
        timeoutMs = 60_000
        ttftTimeoutMs = 10_000
        mockMode = .fixed
        mockReply = "This is a mock reply."
        mockDelayMs = 0
        mockFailureRate = 0
    }

    /// Every key a `[[route.providers]]` entry may have.
    package static let keys = [
        "name", "kind", "base_url", "models", "aliases", "api_key_env", "tier", "cost_input_per_1k",
        "cost_output_per_1k", "capabilities", "weight", "max_concurrency", "timeout_ms", "ttft_timeout_ms",
        "mock_mode", "mock_reply", "mock_delay_ms", "mock_failure_rate",
    ]

    init(section s: ConfigurationSection) throws {
        try s.checkKeys(known: Self.keys)
        let name = try s.requiredString("name", expected: "name = \"local\", unique among the providers")
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw s.invalid("name", expected: "a non-empty name of letters, digits, '-', '_' or '.'")
        }
        let kind = try s.choice("kind", default: ProviderKind.openai)
        let baseURL: String
        if kind == .mock {
            baseURL = try s.string("base_url", default: "")
        } else {
            baseURL = try s.requiredString("base_url", expected: "base_url = \"http://127.0.0.1:11434/v1\", or kind = \"mock\"")
            guard let url = URL(string: baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw s.invalid("base_url", expected: "an http:// or https:// URL such as \"http://127.0.0.1:11434/v1\"")
            }
        }
        let models = try s.strings("models", default: [])
        guard !models.isEmpty, !models.contains(where: \.isEmpty) else {
            throw ConfigurationError.missingKey(
                path: s.path, key: "\(s.name).models", expected: "models = [\"llama3.2\"], the model names this provider serves")
        }
        self.init(name: name, kind: kind, baseURL: baseURL, models: models)
        aliases = try s.strings("aliases", default: [])
        let keyEnv = try s.string("api_key_env", default: "")
        apiKeyEnv = keyEnv.isEmpty ? nil : keyEnv
        tier = try s.string("tier", default: tier)
        costInputPer1k = try s.double("cost_input_per_1k", default: 0, in: 0...1e6)
        costOutputPer1k = try s.double("cost_output_per_1k", default: 0, in: 0...1e6)
        capabilities = try s.strings("capabilities", default: [])
        weight = try s.double("weight", default: 1, in: 1e-6...1e6)
        maxConcurrency = try s.int("max_concurrency", default: maxConcurrency, in: 1...1_000_000)
        timeoutMs = try s.int("timeout_ms", default: timeoutMs, in: 1...3_600_000)
        ttftTimeoutMs = try s.int("ttft_timeout_ms", default: ttftTimeoutMs, in: 1...3_600_000)
        mockMode = try s.choice("mock_mode", default: MockReplyMode.fixed)
        mockReply = try s.string("mock_reply", default: mockReply)
        mockDelayMs = try s.int("mock_delay_ms", default: 0, in: 0...3_600_000)
        mockFailureRate = try s.double("mock_failure_rate", default: 0, in: 0...1)
        if kind != .mock {
            for key in ["mock_mode", "mock_reply", "mock_delay_ms", "mock_failure_rate"] where s.contains(key) {
                throw s.invalid(key, expected: "set only with kind = \"mock\"; delete it or add kind = \"mock\"")
            }
        }
    }
}

/// One `[[route.tasks]]` entry: which providers a type of request may use.
package struct TaskSettings: Sendable, Equatable {
    /// Task name clients pass (`--task`, or the `x-copilot-task` header).
    package var name: String
    /// Tiers the task may use; empty means any.
    package var tiers: [String]
    /// Capabilities every candidate must have.
    package var capabilities: [String]
    /// Latency the task tolerates, in milliseconds: providers slower than this (by their
    /// latency EWMA) rank lower, and it bounds the whole request including failover.
    package var latencyBudgetMs: Int
    /// This task's forgetting factor, when it overrides `[route] forgetting`.
    package var forgetting: Double?
    /// Which of `temperature`, `top_p` and `max_tokens` the gateway's tuner sets for this
    /// task (``TuningMode``): by default those the client left unset, once the task has had
    /// feedback.
    package var tune: TuningMode

    /// A task with no restriction and the given budget.
    package init(
        name: String, tiers: [String] = [], capabilities: [String] = [], latencyBudgetMs: Int = 30_000, forgetting: Double? = nil,
        tune: TuningMode = .unset
    ) {
        self.name = name
        self.tiers = tiers
        self.capabilities = capabilities
        self.latencyBudgetMs = latencyBudgetMs
        self.forgetting = forgetting
        self.tune = tune
    }

    /// Every key a `[[route.tasks]]` entry may have.
    package static let keys = ["name", "tiers", "capabilities", "latency_budget_ms", "forgetting", "tune"]

    init(section s: ConfigurationSection) throws {
        try s.checkKeys(known: Self.keys)
        let name = try s.requiredString("name", expected: "name = \"chat\", unique among the tasks")
        guard !name.isEmpty else { throw s.invalid("name", expected: "a non-empty string") }
        self.init(
            name: name,
            tiers: try s.strings("tiers", default: []),
            capabilities: try s.strings("capabilities", default: []),
            latencyBudgetMs: try s.int("latency_budget_ms", default: 30_000, in: 1...3_600_000),
            forgetting: s.contains("forgetting") ? try s.double("forgetting", default: 1, in: 0.5...1) : nil,
            tune: try TuningMode(section: s))
    }
}

/// The `[route]` section: providers, tasks and the gateway-wide policy.
/// Which chat requests the gateway answers from, and stores in, the response cache.
package enum RouteCacheMode: String, CaseIterable, Sendable {
    /// Requests with `temperature` 0, and those whose client sends `x-copilot-cache: force`.
    case auto
    /// Every request the client does not exclude with `x-copilot-cache: bypass`.
    case always
    /// None (no cache is opened).
    case off
}

/// The `[route]` configuration: providers, tasks, retries, cache and learning.
package struct RouteSettings: Sendable, Equatable {
    /// Providers in file order (the order breaks ranking ties).
    package var providers: [ProviderSettings]
    /// Task types.
    package var tasks: [TaskSettings]
    /// Circuit breaker thresholds shared by every provider.
    package var breaker: BreakerSettings
    /// Retry and failover policy.
    package var retry: RetryPolicy
    /// Hedging: `nil` when off.
    package var hedge: HedgePolicy?
    /// Whole-request deadline when no task budget applies, in milliseconds.
    package var requestTimeoutMs: Int
    /// Largest request body the gateway accepts, in bytes.
    package var maxBodyBytes: Int
    /// Seed of the router's generator (weighted choice, retry jitter).
    package var seed: UInt64
    /// Which requests use the response cache (`[cache]` says where it lives).
    package var cache: RouteCacheMode = .auto
    /// How long a cached answer is served, in seconds.
    package var cacheTTLSeconds = 3600
    /// The learning policy and its state.
    package var learning = LearningSettings.defaults

    /// No providers and every policy at its default.
    package static let defaults = RouteSettings(
        providers: [], tasks: [], breaker: .defaults, retry: .defaults, hedge: nil,
        requestTimeoutMs: 30_000, maxBodyBytes: 4 << 20, seed: 0)

    /// Every key of `[route]` itself.
    package static let keys = [
        "providers", "tasks", "request_timeout_ms", "max_body_bytes", "seed", "max_attempts", "retry_base_ms",
        "retry_max_ms", "hedge", "hedge_min_samples", "hedge_min_delay_ms", "breaker_consecutive_failures",
        "breaker_error_rate", "breaker_window", "breaker_min_requests", "breaker_cooldown_ms", "breaker_max_cooldown_ms",
        "cache", "cache_ttl",
    ] + LearningSettings.keys

    /// Memberwise.
    package init(
        providers: [ProviderSettings], tasks: [TaskSettings], breaker: BreakerSettings, retry: RetryPolicy,
        hedge: HedgePolicy?, requestTimeoutMs: Int, maxBodyBytes: Int, seed: UInt64
    ) {
        self.providers = providers
        self.tasks = tasks
        self.breaker = breaker
        self.retry = retry
        self.hedge = hedge
        self.requestTimeoutMs = requestTimeoutMs
        self.maxBodyBytes = maxBodyBytes
        self.seed = seed
    }

    /// Reads `[route]`, `[[route.providers]]` and `[[route.tasks]]`; every error names the
    /// file, the key and the fix.
    package init(configuration: Configuration) throws {
        let s = try configuration.section("route")
        try s.checkKeys(known: Self.keys)
        let d = Self.defaults
        providers = try s.tables("providers").map(ProviderSettings.init(section:))
        tasks = try s.tables("tasks").map(TaskSettings.init(section:))
        breaker = BreakerSettings(
            consecutiveFailures: try s.int("breaker_consecutive_failures", default: d.breaker.consecutiveFailures, in: 1...1000),
            errorRate: try s.double("breaker_error_rate", default: d.breaker.errorRate, in: 0.01...1),
            window: try s.int("breaker_window", default: d.breaker.window, in: 1...BreakerSettings.maxWindow),
            minRequests: try s.int("breaker_min_requests", default: d.breaker.minRequests, in: 1...BreakerSettings.maxWindow),
            cooldownMs: try s.int("breaker_cooldown_ms", default: d.breaker.cooldownMs, in: 1...3_600_000),
            maxCooldownMs: try s.int("breaker_max_cooldown_ms", default: d.breaker.maxCooldownMs, in: 1...86_400_000))
        if breaker.minRequests > breaker.window {
            throw s.invalid("breaker_min_requests", expected: "at most breaker_window (\(breaker.window))")
        }
        if breaker.maxCooldownMs < breaker.cooldownMs {
            throw s.invalid("breaker_max_cooldown_ms", expected: "at least breaker_cooldown_ms (\(breaker.cooldownMs))")
        }
        retry = RetryPolicy(
            maxAttempts: try s.int("max_attempts", default: d.retry.maxAttempts, in: 1...20),
            baseDelayMs: try s.int("retry_base_ms", default: d.retry.baseDelayMs, in: 0...600_000),
            maxDelayMs: try s.int("retry_max_ms", default: d.retry.maxDelayMs, in: 0...600_000))
        if try s.bool("hedge", default: false) {
            hedge = HedgePolicy(
                minSamples: try s.int("hedge_min_samples", default: HedgePolicy.defaults.minSamples, in: 1...RouteHealth.sampleCapacity),
                minDelayMs: try s.int("hedge_min_delay_ms", default: HedgePolicy.defaults.minDelayMs, in: 0...600_000))
        } else {
            for key in ["hedge_min_samples", "hedge_min_delay_ms"] where s.contains(key) {
                throw s.invalid(key, expected: "set only with hedge = true; delete it or add hedge = true")
            }
            hedge = nil
        }
        requestTimeoutMs = try s.int("request_timeout_ms", default: d.requestTimeoutMs, in: 1...3_600_000)
        maxBodyBytes = try s.int("max_body_bytes", default: d.maxBodyBytes, in: 1024...(1 << 30))
        seed = UInt64(try s.int("seed", default: 0, in: 0...Int.max))
        cache = try s.choice("cache", default: d.cache)
        cacheTTLSeconds = try s.int("cache_ttl", default: d.cacheTTLSeconds, in: 1...Int(CacheLimits.maxTTLSeconds))
        learning = try LearningSettings(section: s)

        var seen: Set<String> = []
        for (i, p) in providers.enumerated() where !seen.insert(p.name).inserted {
            throw ConfigurationError.conflict(
                path: configuration.path ?? "defaults", key: "route.providers[\(i)].name",
                reason: "a second provider is named \"\(p.name)\"; give each provider its own name")
        }
        seen = []
        for (i, t) in tasks.enumerated() where !seen.insert(t.name).inserted {
            throw ConfigurationError.conflict(
                path: configuration.path ?? "defaults", key: "route.tasks[\(i)].name",
                reason: "a second task is named \"\(t.name)\"; give each task its own name")
        }
    }

    /// The task named `name`, if configured.
    package func task(named name: String) -> TaskSettings? { tasks.first { $0.name == name } }

    /// Every model name and alias clients may ask for, sorted, without repeats.
    package var modelNames: [String] {
        Array(Set(providers.flatMap { $0.models + $0.aliases })).sorted()
    }
}

/// What a task's generation-parameter tuner may set (`[[route.tasks]] tune`).
package enum TuningMode: String, Sendable, Equatable, Codable {
    /// Never: requests go as the client sent them (`tune = false`).
    case off
    /// The parameters the client left unset (the default). Nothing is set until the task has
    /// had its first feedback score, so a gateway nobody scores changes no request.
    case unset
    /// All three, overriding what the client sent (`tune = true`).
    case always

    /// `tune = true | false | "off" | "unset" | "always"`, `.unset` when absent.
    init(section s: ConfigurationSection) throws {
        guard s.contains("tune") else {
            self = .unset
            return
        }
        if let flag = try? s.bool("tune", default: false) {
            self = flag ? .always : .off
            return
        }
        let text = try? s.string("tune", default: "")
        guard let text, let mode = TuningMode(rawValue: text) else {
            throw ConfigurationError.invalidValue(
                path: s.path, key: "\(s.name).tune", expected: "true (always), false (off), \"unset\" (only what the client left unset) or \"always\"")
        }
        self = mode
    }
}
