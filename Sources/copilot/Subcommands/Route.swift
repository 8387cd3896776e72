import ArgumentParser

/// `copilot route`: the LLM gateway and its router.
struct Route: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Route chat completions across LLM providers: serve, pick, ask, feedback, stats, check, simulate, tune.",
        discussion: """
            Providers are OpenAI-compatible servers (Ollama, llama.cpp, vLLM, hosted APIs) or \
            the built-in mock, listed as [[route.providers]] in the configuration; tasks \
            ([[route.tasks]]) say which tiers and capabilities a kind of request may use. The \
            router filters by model, tier, capability, concurrency and circuit breaker, ranks \
            by health and weight, and fails over inside the request's deadline.

            Examples:
              copilot route check --config route.toml
              copilot route pick --config route.toml --model llama3.2 --json
              copilot route serve --config route.toml --port 8080
              copilot route ask --url http://127.0.0.1:8080 --model llama3.2 "Summarise the call"
              copilot route feedback req-1a2b3c4d-17 --score 0.9
              copilot route stats --url http://127.0.0.1:8080
              copilot route tune --simulate
            """,
        subcommands: [
            RouteServe.self, RoutePick.self, RouteAsk.self, RouteFeedbackCommand.self, RouteStats.self, RouteCheck.self, RouteSimulate.self,
            RouteTune.self,
        ])
}
