@testable import CopilotCore
import Foundation

/// A fake monotonic clock for the router: tests move time by hand.
struct ManualClock {
    private(set) var nowNs: UInt64 = 1_000_000_000

    mutating func advance(ms: Double) { nowNs &+= UInt64(ms * 1e6) }
}

enum RouteFixtures {
    /// `count` OpenAI providers all serving `model`, named p0, p1, ...
    static func providers(_ count: Int, model: String = "m") -> [ProviderSettings] {
        (0..<count).map { ProviderSettings(name: "p\($0)", baseURL: "http://127.0.0.1:\(9000 + $0)/v1", models: [model]) }
    }

    static func settings(_ providers: [ProviderSettings], tasks: [TaskSettings] = [], seed: UInt64 = 7) -> RouteSettings {
        var s = RouteSettings.defaults
        s.providers = providers
        s.tasks = tasks
        s.seed = seed
        return s
    }

    static func config(_ text: String, path: String = "route.toml") throws -> RouteSettings {
        try RouteSettings(configuration: Configuration(text: text, path: path))
    }
}
