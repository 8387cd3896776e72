@testable import CopilotCore
import Foundation
import Testing

@Suite struct RouteSettingsTests {
    @Test func minimalFileFromTheIssueWorks() throws {
        let s = try RouteFixtures.config("""
            [[route.providers]]
            name = "local"
            base_url = "http://127.0.0.1:11434/v1"
            models = ["llama3.2"]
            """)
        #expect(s.providers.count == 1)
        let p = try #require(s.providers.first)
        #expect(p.name == "local" && p.kind == .openai && p.models == ["llama3.2"])
        #expect(p.weight == 1 && p.maxConcurrency == 256 && p.apiKeyEnv == nil)
        #expect(s.retry == .defaults && s.breaker == .defaults && s.hedge == nil)
        #expect(s.maxBodyBytes == 4 << 20)
    }

    @Test func everyKeyIsRead() throws {
        let s = try RouteFixtures.config("""
            [route]
            max_attempts = 4
            hedge = true
            hedge_min_samples = 5
            breaker_consecutive_failures = 3
            seed = 9

            [[route.providers]]
            name = "fast"
            base_url = "https://api.example.com/v1"
            models = ["small"]
            aliases = ["chat"]
            api_key_env = "EXAMPLE_KEY"
            tier = "hosted"
            cost_input_per_1k = 0.5
            cost_output_per_1k = 1.5
            capabilities = ["code"]
            weight = 3
            max_concurrency = 8
            timeout_ms = 1000
            ttft_timeout_ms = 200

            [[route.providers]]
            name = "fake"
            kind = "mock"
            models = ["small"]
            mock_mode = "echo"
            mock_delay_ms = 5
            mock_failure_rate = 0.25

            [[route.tasks]]
            name = "code"
            tiers = ["hosted"]
            capabilities = ["code"]
            latency_budget_ms = 2000
            """)
        #expect(s.retry.maxAttempts == 4 && s.breaker.consecutiveFailures == 3 && s.seed == 9)
        #expect(s.hedge == HedgePolicy(minSamples: 5, minDelayMs: HedgePolicy.defaults.minDelayMs))
        let fast = s.providers[0]
        #expect(fast.aliases == ["chat"] && fast.apiKeyEnv == "EXAMPLE_KEY" && fast.tier == "hosted")
        #expect(fast.costOutputPer1k == 1.5 && fast.weight == 3 && fast.maxConcurrency == 8 && fast.ttftTimeoutMs == 200)
        #expect(s.providers[1].kind == .mock && s.providers[1].mockMode == .echo && s.providers[1].mockFailureRate == 0.25)
        #expect(s.tasks == [TaskSettings(name: "code", tiers: ["hosted"], capabilities: ["code"], latencyBudgetMs: 2000)])
        #expect(s.modelNames == ["chat", "small"])
    }

    /// Each bad file fails with an error naming the file and the key.
    @Test(arguments: [
        ("[[route.providers]]\nbase_url = \"http://h/v1\"\nmodels = [\"m\"]\n", "route.providers[0].name"),
        ("[[route.providers]]\nname = \"a\"\nmodels = [\"m\"]\n", "route.providers[0].base_url"),
        ("[[route.providers]]\nname = \"a\"\nbase_url = \"http://h/v1\"\n", "route.providers[0].models"),
        ("[[route.providers]]\nname = \"a\"\nbase_url = \"ftp://h\"\nmodels = [\"m\"]\n", "route.providers[0].base_url"),
        ("[[route.providers]]\nname = \"a\"\nbase_url = \"http://h/v1\"\nmodels = [\"m\"]\nwieght = 2\n", "route.providers[0].wieght"),
        ("[[route.providers]]\nname = \"a\"\nbase_url = \"http://h/v1\"\nmodels = \"m\"\n", "route.providers[0].models"),
        ("[[route.providers]]\nname = \"a\"\nkind = \"grpc\"\nmodels = [\"m\"]\n", "route.providers[0].kind"),
        ("[[route.providers]]\nname = \"a\"\nbase_url = \"http://h/v1\"\nmodels = [\"m\"]\nmock_reply = \"x\"\n", "route.providers[0].mock_reply"),
        ("[[route.providers]]\nname = \"a\"\nkind = \"mock\"\nmodels = [\"m\"]\n[[route.providers]]\nname = \"a\"\nkind = \"mock\"\nmodels = [\"n\"]\n", "route.providers[1].name"),
        ("[route]\nproviders = 3\n", "route.providers"),
        ("[route]\nbreaker_window = 5\nbreaker_min_requests = 10\n", "route.breaker_min_requests"),
        ("[route]\nhedge_min_samples = 5\n", "route.hedge_min_samples"),
        ("[[route.tasks]]\nname = \"t\"\nlatency_budget_ms = 0\n", "route.tasks[0].latency_budget_ms"),
    ])
    func badFilesNameTheKey(text: String, key: String) {
        do {
            _ = try RouteFixtures.config(text, path: "bad.toml")
            Issue.record("accepted a bad file for \(key)")
        } catch {
            let message = error.localizedDescription
            #expect(message.hasPrefix("bad.toml: "), "\(message)")
            #expect(message.contains("`\(key)`"), "\(message)")
        }
    }

    @Test func noRouteSectionMeansNoProviders() throws {
        let s = try RouteSettings(configuration: .defaults)
        #expect(s == .defaults)
    }

    @Test func shippedConfigIsTheDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let config = try Configuration(contentsOf: root.appendingPathComponent("config/copilot.toml").path)
        #expect(try RouteSettings(configuration: config) == .defaults)
    }
}
