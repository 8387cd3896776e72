import ArgumentParser
import CopilotGateway
import Foundation

/// `copilot route feedback`: scores one answer of a running gateway.
struct RouteFeedbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback",
        abstract: "Score one answer of a running gateway, so it learns which provider answers best.",
        discussion: """
            Sends POST /v1/feedback {"request_id": ID, "score": S} to the gateway. ID is the \
            x-copilot-request-id header of an answer it gave (each answer takes one score, \
            within [route] feedback_ttl); S is 0 (useless) ... 1 (the best answer). The \
            provider that answered gets the score in its posterior for the request's task \
            (x-copilot-task); copilot route stats shows what was learned.

            Examples:
              copilot route feedback req-1a2b3c4d-17 --score 1
              copilot route feedback req-1a2b3c4d-18 --score 0.2 --url http://127.0.0.1:9000 --json
            """)

    @Argument(help: ArgumentHelp("The answer's x-copilot-request-id.", valueName: "request-id"))
    var requestID: String

    @Option(help: ArgumentHelp("Quality of the answer, 0...1.", valueName: "s"))
    var score: Double

    @Option(help: ArgumentHelp("The gateway.", valueName: "url"))
    var url = "http://127.0.0.1:8080"

    @Option(help: ArgumentHelp("Environment variable holding the gateway's bearer token.", valueName: "name"))
    var authTokenEnv: String?

    @Flag(help: "Print the gateway's JSON answer.")
    var json = false

    func validate() throws {
        guard score.isFinite, (0...1).contains(score) else {
            throw ValidationError("--score \(score) is not in 0...1; give 0 for the worst answer, 1 for the best")
        }
        guard !requestID.isEmpty else { throw ValidationError("the request id is empty; pass an answer's x-copilot-request-id") }
    }

    func run() async throws {
        var token: String?
        if let authTokenEnv {
            guard let value = ProcessInfo.processInfo.environment[authTokenEnv], !value.isEmpty else {
                throw ValidationError("--auth-token-env \(authTokenEnv): the variable is not set; export it or drop the option")
            }
            token = value
        }
        let client = GatewayClient(baseURL: url, token: token)
        let answer: String
        do {
            answer = try await client.feedback(requestID: requestID, score: score)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        if json {
            try withStandardOutput { try $0.write(answer + "\n") }
            return
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(answer.utf8))) as? [String: Any] ?? [:]
        var line = "scored \(requestID) \(score): provider \(object["provider"] as? String ?? "?")"
        if let task = object["task"] as? String { line += ", task \(task)" }
        if let posterior = object["posterior"] as? [String: Any], let mean = posterior["mean"] as? Double {
            line += String(format: "; its posterior mean is now %.3f", mean)
        }
        try withStandardOutput { try $0.write(line + "\n") }
    }
}
