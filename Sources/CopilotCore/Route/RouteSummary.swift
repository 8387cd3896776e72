import Foundation

/// What `copilot route check` prints about a valid configuration (never an API key: only the
/// names of the variables that hold them).
package enum RouteSummary {
    /// One line for the file, one per provider and task.
    package static func plain(_ s: RouteSettings, path: String) -> String {
        var text = "\(path): valid; \(s.providers.count) provider\(s.providers.count == 1 ? "" : "s"), \(s.tasks.count) task\(s.tasks.count == 1 ? "" : "s")\n"
        for p in s.providers {
            let target = p.kind == .mock ? "mock" : p.baseURL
            var line = "  provider \(p.name): \(target)  models \(p.models.joined(separator: ","))"
            if !p.aliases.isEmpty { line += "  aliases \(p.aliases.joined(separator: ","))" }
            line += "  tier \(p.tier)  weight \(p.weight)"
            if let env = p.apiKeyEnv { line += "  key from $\(env)" }
            text += line + "\n"
        }
        for t in s.tasks {
            let tiers = t.tiers.isEmpty ? "any" : t.tiers.joined(separator: ",")
            let caps = t.capabilities.isEmpty ? "none" : t.capabilities.joined(separator: ",")
            text += "  task \(t.name): tiers \(tiers)  capabilities \(caps)  budget \(t.latencyBudgetMs) ms\n"
        }
        return text
    }

    /// The same as one JSON object.
    package static func json(_ s: RouteSettings, path: String) -> String {
        let providers = s.providers.map { p -> [String: Any] in
            var o: [String: Any] = [
                "name": p.name, "kind": p.kind.rawValue, "models": p.models, "aliases": p.aliases, "tier": p.tier,
                "weight": p.weight, "capabilities": p.capabilities, "max_concurrency": p.maxConcurrency,
            ]
            if p.kind == .openai { o["base_url"] = p.baseURL }
            if let env = p.apiKeyEnv { o["api_key_env"] = env }
            return o
        }
        let tasks = s.tasks.map { t -> [String: Any] in
            ["name": t.name, "tiers": t.tiers, "capabilities": t.capabilities, "latency_budget_ms": t.latencyBudgetMs]
        }
        let object: [String: Any] = ["path": path, "valid": true, "providers": providers, "tasks": tasks, "models": s.modelNames]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
