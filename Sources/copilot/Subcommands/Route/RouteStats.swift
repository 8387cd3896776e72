import ArgumentParser
import CopilotGateway
import Foundation

/// `copilot route stats`: health, breaker states and counts of a running gateway.
struct RouteStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show the health, breaker states and counts of a running gateway.",
        discussion: """
            Reads GET /health of the gateway: per provider its breaker, requests in flight, \
            attempts, failures, success-rate EWMA and latency / time-to-first-token \
            percentiles. Exit status 0 when at least one provider is usable, 1 when every \
            breaker is open or the gateway cannot be reached.

            Examples:
              copilot route stats
              copilot route stats --url http://127.0.0.1:9000 --json
            """)

    @Option(help: ArgumentHelp("The gateway.", valueName: "url"))
    var url = "http://127.0.0.1:8080"

    @Flag(help: "Print the /health JSON as it came.")
    var json = false

    func run() async throws {
        let client = GatewayClient(baseURL: url)
        let health: String
        do {
            health = try await client.health()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        guard let table = GatewayStatsFormatter.plain(health) else { throw GatewayClientError.invalidAnswer(url: url) }
        try withStandardOutput { out in try out.write(json ? health + "\n" : table) }
        if health.contains("\"status\":\"down\"") { throw ExitCode(1) }
    }
}
