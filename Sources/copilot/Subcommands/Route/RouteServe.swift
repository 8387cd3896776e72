import ArgumentParser
import CopilotCore
import CopilotGateway
import Foundation

/// `copilot route serve`: the OpenAI-compatible gateway.
struct RouteServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve an OpenAI-compatible chat-completions gateway over the configured providers.",
        discussion: """
            Endpoints: POST /v1/chat/completions (stream false or true), POST /v1/feedback, GET /v1/models, \
            GET /health (JSON; 503 when every breaker is open), GET /metrics (Prometheus). \
            Responses carry x-copilot-provider, x-copilot-request-id and x-copilot-overhead-us. \
            A request may name its task with the x-copilot-task header. SIGTERM or SIGINT stops \
            accepting and lets in-flight requests finish.

            Answers to requests with temperature 0 are cached in the [cache] store (the same as \
            copilot cache: SQLite by default, Redis with --url in [cache]) for [route] cache_ttl \
            seconds and replayed, streamed or not, with x-copilot-cache: hit; a client sends \
            x-copilot-cache: force to cache any request, bypass to skip the cache. [route] \
            cache = "always" caches every request, "off" none.

            Learning ([route] policy = "thompson", the default): every answer's \
            x-copilot-request-id takes one score for feedback_ttl seconds: POST /v1/feedback \
            {"request_id": "...", "score": 0.8} or copilot route feedback ID --score 0.8. The \
            posteriors are saved every 2 s and on exit to [route] state_path (default \
            ~/.cache/copilot/route-state.sqlite) and restored on start; --reset-state starts over. \
            With the cache on Redis (or [route] state = "redis") gateways share what they learn \
            there: every 2 s each sends its change and takes the others'.

            Binds 127.0.0.1 unless --host says otherwise. Provider keys come only from the \
            environment variables named by api_key_env and are never logged or shown.

            Examples:
              copilot route serve --config route.toml
              COPILOT_TOKEN=secret copilot route serve --config route.toml --port 9000 --auth-token-env COPILOT_TOKEN
              curl -s localhost:8080/v1/chat/completions -H 'content-type: application/json' \\
                -d '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}'
            """)

    @OptionGroup(title: "Configuration")
    var config: ConfigOptions

    @Option(help: ArgumentHelp("Interface to listen on.", valueName: "address"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("TCP port to listen on (0: any free port, printed on start).", valueName: "port"))
    var port = 8080

    @Option(help: ArgumentHelp("Environment variable holding the bearer token clients must send.", valueName: "name"))
    var authTokenEnv: String?

    @Flag(help: "Log every failed upstream attempt (debug level).")
    var verbose = false

    @Flag(help: "Start learning over: empty the route state file (a damaged one is moved aside, not deleted).")
    var resetState = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535, got \(port)") }
    }

    func run() async throws {
        let adopted = GatewayServer.eventLoopsAreGlobalExecutor
        let configuration = try config.load()
        let settings = try RouteSettings(configuration: configuration)
        let environment = ProcessInfo.processInfo.environment
        for warning in try settings.validate(path: configuration.path ?? "defaults", environment: environment) {
            writeStandardError("warning: \(warning.localizedDescription)\n")
        }
        var token: String?
        if let authTokenEnv {
            guard let value = environment[authTokenEnv], !value.isEmpty else {
                throw ValidationError("--auth-token-env \(authTokenEnv): the variable is not set; export it or drop the option")
            }
            token = value
        }
        var cache: GatewayCache?
        let cacheSettings = try CacheSettings(configuration: configuration)
        if settings.cache != .off {
            cache = GatewayCache(
                store: try cacheSettings.open(), mode: settings.cache, ttlSeconds: settings.cacheTTLSeconds, offEventLoop: cacheSettings.usesRedis)
        }
        var options = GatewayOptions(
            host: host, port: port, authToken: token, environment: environment, logLevel: verbose ? .debug : .info, cache: cache)
        if let path = settings.learning.stateFile(cache: cacheSettings, environment: environment) {
            options.learningStore = resetState ? try RouteStateStore.reset(path: path) : try RouteStateStore(path: path)
        }
        if let shared = try settings.learning.sharedState(cache: cacheSettings, environment: environment) {
            if resetState { try shared.reset(tasks: settings.tasks.map(\.name)) }
            options.sharedLearning = shared
        }
        try await GatewayServer.run(settings: settings, options: options) { boundPort in
            writeStandardError(
                "copilot route: listening on http://\(host):\(boundPort) (\(settings.providers.count) providers\(adopted ? "" : "; handlers on the shared pool"))\n")
        }
    }
}
