import Foundation
import Testing

@Suite struct RouteCLITests {
    static let twoProviders = """
        [[route.providers]]
        name = "local"
        base_url = "http://127.0.0.1:11434/v1"
        models = ["llama3.2"]
        tier = "local"

        [[route.providers]]
        name = "hosted"
        base_url = "https://api.example.com/v1"
        models = ["big"]
        aliases = ["llama3.2"]
        api_key_env = "COPILOT_TEST_UNSET_KEY"
        tier = "hosted"
        capabilities = ["code"]

        [[route.tasks]]
        name = "code"
        capabilities = ["code"]
        """

    func withConfig<T>(_ text: String, _ body: (String) throws -> T) throws -> T {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("route.toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try body(path)
    }

    @Test func checkAcceptsTheMinimalFile() throws {
        try withConfig("[[route.providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodels = [\"llama3.2\"]\n") { path in
            let r = try CLI.run(["route", "check", "--config", path])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.contains("valid; 1 provider, 0 tasks"))
            #expect(r.out.contains("provider local: http://127.0.0.1:11434/v1"))
        }
    }

    @Test func checkWarnsAboutAnUnsetKeyVariableWithoutFailing() throws {
        try withConfig(Self.twoProviders) { path in
            let r = try CLI.run(["route", "check", "--config", path, "--json"])
            #expect(r.status == 0)
            #expect(r.err.contains("COPILOT_TEST_UNSET_KEY") && r.err.contains("not set"))
            let object = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
            #expect((object?["providers"] as? [Any])?.count == 2)
            #expect(object?["models"] as? [String] == ["big", "llama3.2"])
        }
    }

    @Test func keysNeverAppearInCheckOutput() throws {
        try withConfig(Self.twoProviders) { path in
            let r = try CLI.run(["route", "check", "--config", path, "--json"], environment: ["COPILOT_TEST_UNSET_KEY": "sk-very-secret-123"])
            #expect(r.status == 0)
            #expect(!r.out.contains("sk-very-secret") && !r.err.contains("sk-very-secret"))
            #expect(!r.err.contains("warning"))
        }
    }

    @Test func checkNamesTheFileTheKeyAndTheFix() throws {
        try withConfig("[[route.providers]]\nname = \"local\"\nmodels = [\"llama3.2\"]\n") { path in
            let r = try CLI.run(["route", "check", "--config", path])
            #expect(r.status == 1)
            #expect(r.err.contains(path) && r.err.contains("route.providers[0].base_url") && r.err.contains("add it"))
        }
        try withConfig("[route]\nmax_attempts = 0\n") { path in
            let r = try CLI.run(["route", "check", "--config", path])
            #expect(r.status == 1)
            #expect(r.err.contains("route.max_attempts"))
        }
        try withConfig("# nothing\n") { path in
            let r = try CLI.run(["route", "check", "--config", path])
            #expect(r.status == 1)
            #expect(r.err.contains("no [[route.providers]]"))
        }
    }

    @Test func pickShowsTheDecisionAndEveryCandidate() throws {
        try withConfig(Self.twoProviders) { path in
            let r = try CLI.run(["route", "pick", "--config", path, "--model", "llama3.2", "--json"])
            #expect(r.status == 0, "\(r.err)")
            let object = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
            let candidates = try #require(object["candidates"] as? [[String: Any]])
            #expect(candidates.count == 2)
            #expect(Set(candidates.compactMap { $0["provider"] as? String }) == ["local", "hosted"])
            #expect(candidates.first?["provider"] as? String == object["pick"] as? String)
            let hosted = try #require(candidates.first { $0["provider"] as? String == "hosted" })
            #expect(hosted["upstream_model"] as? String == "big")

            let code = try CLI.run(["route", "pick", "--config", path, "--model", "llama3.2", "--task", "code"])
            #expect(code.status == 0)
            #expect(code.out.hasPrefix("pick: hosted for model llama3.2 task code"))
            #expect(code.out.contains("local  excluded: capability"))
        }
    }

    @Test func pickIsReproducibleUnderASeed() throws {
        try withConfig(Self.twoProviders) { path in
            let picks = try (0..<2).map { _ in try CLI.run(["route", "pick", "--config", path, "--model", "llama3.2", "--seed", "5"]).out }
            #expect(picks[0] == picks[1] && !picks[0].isEmpty)
        }
    }

    @Test func pickRefusesUnknownModelsAndTasks() throws {
        try withConfig(Self.twoProviders) { path in
            let model = try CLI.run(["route", "pick", "--config", path, "--model", "gpt-9"])
            #expect(model.status == 1)
            #expect(model.err.contains("gpt-9") && model.err.contains("known models: big, llama3.2"))
            let task = try CLI.run(["route", "pick", "--config", path, "--model", "big", "--task", "poetry"])
            #expect(task.status == 1)
            #expect(task.err.contains("poetry") && task.err.contains("known tasks: code"))
            let missing = try CLI.run(["route", "pick", "--config", path])
            #expect(missing.status != 0 && missing.status < 128)
            #expect(missing.err.contains("--model"))
        }
    }

    @Test func askStreamsOneAnswerPerStdinLineThroughAnInProcessRouter() throws {
        let config = """
            [[route.providers]]
            name = "broken"
            kind = "mock"
            models = ["m"]
            mock_failure_rate = 1.0
            weight = 1000

            [[route.providers]]
            name = "echoer"
            kind = "mock"
            models = ["m"]
            mock_mode = "echo"
            """
        try withConfig(config) { path in
            let r = try CLI.run(["route", "ask", "--config", path, "--show-provider"], stdin: Data("first question\n\n  second one\n".utf8))
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out == "first question\nsecond one\n", "the failing provider was failed over")
            #expect(r.err == "[echoer]\n[echoer]\n")
            let one = try CLI.run(["route", "ask", "--config", path, "--model", "m", "one", "prompt"])
            #expect(one.out == "one prompt\n")
        }
    }

    @Test func askReportsErrors() throws {
        try withConfig("[[route.providers]]\nname = \"b\"\nkind = \"mock\"\nmodels = [\"m\"]\nmock_failure_rate = 1.0\n") { path in
            let failing = try CLI.run(["route", "ask", "--config", path, "hello"])
            #expect(failing.status == 1)
            #expect(failing.err.contains("HTTP 503") && failing.err.contains("mock failure"))
            let model = try CLI.run(["route", "ask", "--config", path, "--model", "gpt-9", "hello"])
            #expect(model.status == 1 && model.err.contains("gpt-9"))
        }
        let down = try CLI.run(["route", "ask", "--url", "http://127.0.0.1:9", "hello"])
        #expect(down.status == 1 && down.err.contains("cannot reach the gateway at http://127.0.0.1:9"))
        let stats = try CLI.run(["route", "stats", "--url", "http://127.0.0.1:9"])
        #expect(stats.status == 1 && stats.err.contains("cannot reach the gateway"))
    }
}
