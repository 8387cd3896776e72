import AsyncHTTPClient
import CopilotCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// How `copilot route serve` runs: address, client auth, logging.
package struct GatewayOptions: Sendable {
    /// Interface to bind; 127.0.0.1 unless the user asks for another.
    package var host: String
    /// TCP port; 0 picks a free one (tests).
    package var port: Int
    /// Bearer token clients must send on `/v1/*`; `nil`: no auth.
    package var authToken: String?
    /// Environment the providers' `api_key_env` variables are read from.
    package var environment: [String: String]
    /// Log level of the gateway (attempt failures are `debug`).
    package var logLevel: Logger.Level
    /// The exact-match response cache, or nil for none.
    package var cache: GatewayCache?
    /// Where a learning gateway saves its posteriors (restored by ``GatewayServer/run``), or nil.
    package var learningStore: RouteStateStore?
    /// The Redis a group of gateways shares what it learns through (instead of
    /// ``learningStore``), or nil.
    package var sharedLearning: RedisRouteState?
    /// Seconds between saves of the learning state while it changes (between exchanges,
    /// with ``sharedLearning``).
    package var learningSaveSeconds: Double = 2
    /// The tuners' saved observations by task (what ``GatewayServer/run`` read from ``learningStore``).
    package var tuningObservations: [String: [TuningObservation]] = [:]
    /// Answer `POST /v1/chat/completions` with ``ChatFastPath`` (a channel handler in front of
    /// Hummingbird) instead of the router. On unless `COPILOT_ROUTE_FASTPATH=0` (benchmarks
    /// compare the two).
    package var fastPath: Bool

    /// Loopback, port 8080, no auth, the process environment, `info` logs.
    package init(
        host: String = "127.0.0.1", port: Int = 8080, authToken: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment, logLevel: Logger.Level = .info,
        cache: GatewayCache? = nil, fastPath: Bool = ProcessInfo.processInfo.environment["COPILOT_ROUTE_FASTPATH"] != "0"
    ) {
        self.cache = cache
        self.fastPath = fastPath
        self.host = host
        self.port = port
        self.authToken = authToken
        self.environment = environment
        self.logLevel = logLevel
    }
}

/// Shuts the upstream client down when the service group stops (after the server, which is
/// stopped first, has finished its in-flight requests).
struct UpstreamClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

/// The HTTP client the gateway calls providers with: on the server's event loops, pooled
/// keep-alive HTTP/1.1 connections (TCP_NODELAY is NIO's default), no redirects, no
/// decompression.
func makeUpstreamClient() -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.redirectConfiguration = .disallow
    configuration.decompression = .disabled
    configuration.httpVersion = .http1Only
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
    // A provider that refuses connections is a failed attempt at once (failover, breaker),
    // not a connection retried until the request's deadline.
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.timeout.connect = .seconds(2)
    return HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
}

/// Assembles the gateway: routes, the shared state, the upstream client and its shutdown.
/// `copilot route serve` and the tests both call this. `onServerRunning` gets the bound port.
package func buildApplication<Selector: ModelSelecting>(
    settings: RouteSettings, selector: Selector, options: GatewayOptions,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> (application: some ApplicationProtocol, gateway: Gateway<Selector>) {
    var logger = Logger(label: "copilot.route")
    logger.logLevel = options.logLevel
    let client = makeUpstreamClient()
    let gateway = Gateway(
        settings: settings, selector: selector, client: client, authToken: options.authToken, environment: options.environment,
        logger: logger, cache: options.cache, learningStore: options.learningStore, sharedLearning: options.sharedLearning,
        observations: options.tuningObservations)
    let router = Router()
    router.middlewares.add(OpenAIErrorMiddleware(requestIDs: gateway.requestIDs))
    let chat = ChatCompletions(gateway: gateway)
    router.post("/v1/chat/completions") { request, _ in await chat.respond(to: request) }
    router.get("/v1/models") { request, _ -> Response in
        guard gateway.isAuthorized(request.headers[.authorization]) else {
            return ChatCompletions<Selector>.errorResponse(.unauthorized, requestID: gateway.nextRequestID())
        }
        return jsonResponse(gateway.modelsDocument())
    }
    router.post("/v1/feedback") { request, _ -> Response in
        guard gateway.isAuthorized(request.headers[.authorization]) else {
            return ChatCompletions<Selector>.errorResponse(.unauthorized, requestID: gateway.nextRequestID())
        }
        do {
            let body = try await request.body.collect(upTo: 64 << 10)
            return jsonResponse(try gateway.feedback(FeedbackRequest(json: body)))
        } catch let error as GatewayError {
            return ChatCompletions<Selector>.errorResponse(error, requestID: gateway.nextRequestID())
        } catch {
            return ChatCompletions<Selector>.errorResponse(.bodyTooLarge(limitBytes: 64 << 10), requestID: gateway.nextRequestID())
        }
    }
    router.get("/health") { _, _ -> Response in
        let health = gateway.healthDocument()
        return jsonResponse(health.json, status: health.ok ? .ok : .serviceUnavailable)
    }
    router.get("/metrics") { _, _ -> Response in
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4"
        let text = gateway.metrics.render(breakers: gateway.providerStates())
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
    let fastPath = options.fastPath
    let application = Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: fastPath ? [ChatFastPathInstaller(chat: chat)] : [])),
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "copilot"),
        services: gateway.learning?.store == nil && gateway.learning?.shared == nil
            ? [UpstreamClientService(client: client)]
            : [UpstreamClientService(client: client), LearningStateService(gateway: gateway, intervalSeconds: options.learningSaveSeconds)],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? options.port) },
        logger: logger)
    return (application, gateway)
}

func jsonResponse(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
}

/// Turns the router's own errors (no such route, wrong method, a body it could not read)
/// into OpenAI error objects.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The gateway's request ids, so these errors carry one too.
    let requestIDs: RequestIDs

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let path = request.uri.path
            let mapped: GatewayError =
                switch error.status {
                case .notFound: .notFound(path: path)
                case .methodNotAllowed: .methodNotAllowed(method: request.method.rawValue, path: path)
                case .contentTooLarge: .bodyTooLarge(limitBytes: 0)
                default: .malformedJSON(reason: "HTTP \(error.status.code)")
                }
            return ChatCompletions<HealthWeightedSelector>.errorResponse(mapped, requestID: requestIDs.next())
        }
    }
}

/// Runs the gateway until SIGTERM or SIGINT (graceful: in-flight requests finish).
package enum GatewayServer {
    /// Makes the NIO event loops Swift Concurrency's global executor, so a request's handler
    /// runs on the event loop its connection lives on instead of hopping to the cooperative
    /// pool and back for every await (measured: the largest single cost of the hot path).
    /// Must run on the main thread before other concurrency work; `false` if it could not.
    @discardableResult
    package static func adoptEventLoopsAsGlobalExecutor() -> Bool {
        guard Thread.isMainThread else { return false }
        let adopted = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        adoptedFlag.withLock { $0 = adopted }
        return adopted
    }

    /// Whether ``adoptEventLoopsAsGlobalExecutor()`` succeeded in this process.
    package static var eventLoopsAreGlobalExecutor: Bool { adoptedFlag.withLock { $0 } }
    private static let adoptedFlag = Mutex(false)

    /// Builds the application with the configured policy (`[route] policy`) and runs it.
    package static func run(settings: RouteSettings, options: GatewayOptions, onServerRunning: @escaping @Sendable (Int) async -> Void) async throws {
        switch settings.learning.policy {
        case .thompson:
            try await run(settings: settings, selector: ThompsonSelector(settings: settings), options: options, onServerRunning: onServerRunning)
        case .health:
            try await run(settings: settings, selector: HealthWeightedSelector(), options: options, onServerRunning: onServerRunning)
        }
    }

    /// `selector` with what earlier runs learned from `store` (arms of tasks or providers no
    /// longer configured are dropped at the next save).
    package static func restoring<Selector: ModelSelecting>(_ selector: Selector, from store: RouteStateStore?) throws -> Selector {
        var selector = selector
        if let store { selector.restore(try store.load()) }
        return selector
    }

    static func run<Selector: ModelSelecting>(
        settings: RouteSettings, selector: Selector, options: GatewayOptions, onServerRunning: @escaping @Sendable (Int) async -> Void
    ) async throws {
        var selector = try restoring(selector, from: options.learningStore)
        var options = options
        if Selector.learns, let store = options.learningStore { options.tuningObservations = try store.loadObservations() }
        if Selector.learns, let shared = options.sharedLearning {
            // Redis down at start is not fatal: the gateway learns alone and sends all of it at
            // the first exchange that reaches Redis.
            do {
                _ = selector.restore(try shared.load())
                options.tuningObservations = try shared.loadObservations(tasks: settings.tasks.filter { $0.tune != .off }.map(\.name))
            } catch {
                writeStandardError("warning: \(error.localizedDescription); learning alone until it answers\n")
            }
        }
        let (application, _) = buildApplication(settings: settings, selector: selector, options: options, onServerRunning: onServerRunning)
        try await application.runService()
    }
}

extension GatewayServer {
    /// Waits up to `graceMs` for the one task in `tasks` (the server) to stop on its own, then
    /// cancels it.
    static func drain(_ tasks: inout ThrowingTaskGroup<Void, any Error>, graceMs: Int) async {
        tasks.addTask { try await Task.sleep(for: .milliseconds(graceMs)) }
        _ = try? await tasks.next()  // the server stopped, or the grace ended
        tasks.cancelAll()
    }

    /// Runs a gateway on a free loopback port for the length of `body` (what `route ask` does
    /// without `--url`: one process, the same router, failover and providers as `serve`).
    package static func withLocalGateway<T: Sendable>(
        settings: RouteSettings, environment: [String: String], _ body: @escaping @Sendable (String) async throws -> T
    ) async throws -> T {
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        // Failures reach the caller as HTTP errors; the server's own log would only repeat them.
        let options = GatewayOptions(host: "127.0.0.1", port: 0, environment: environment, logLevel: .critical)
        let (application, _) = buildApplication(settings: settings, selector: HealthWeightedSelector(), options: options) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(services: [application], logger: Logger(label: "copilot.route.local"))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var port = 0
            for await p in stream { port = p }
            // When `body` is done nobody waits for anything still in flight (an expert that
            // timed out on the client's side): it gets a moment to finish, then is cancelled.
            do {
                let value = try await body("http://127.0.0.1:\(port)")
                await group.triggerGracefulShutdown()
                await Self.drain(&tasks, graceMs: 250)
                return value
            } catch {
                await group.triggerGracefulShutdown()
                await Self.drain(&tasks, graceMs: 250)
                throw error
            }
        }
    }
}
