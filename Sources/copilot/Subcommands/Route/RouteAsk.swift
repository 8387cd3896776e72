import ArgumentParser
import CopilotCore
import CopilotGateway
import Foundation

/// `copilot route ask`: one prompt (or one per stdin line) through the router, streamed.
struct RouteAsk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Ask through the router and stream the answer to stdout.",
        discussion: """
            With --url, asks a running `copilot route serve`; otherwise starts the router of \
            the configuration in this process for the length of the command. With no prompt, \
            every non-empty stdin line is a prompt and each answer is one line of output. A \
            failed prompt is reported on stderr and the next one is asked; the exit status is \
            1 if any failed.

            Examples:
              copilot route ask --config route.toml "Summarise the call in one line"
              copilot route ask --url http://127.0.0.1:8080 --model llama3.2 --task code "Explain this regex"
              copilot transcribe --live | copilot route ask --config route.toml
            """)

    @OptionGroup(title: "Configuration")
    var config: ConfigOptions

    @Argument(help: "The prompt; none: one prompt per stdin line.")
    var prompt: [String] = []

    @Option(help: ArgumentHelp("A running gateway to ask instead of an in-process router.", valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("Model or alias (default: the first the gateway lists).", valueName: "model"))
    var model: String?

    @Option(help: ArgumentHelp("Task type from [[route.tasks]].", valueName: "task"))
    var task: String?

    @Option(help: ArgumentHelp("Environment variable holding the gateway's bearer token (with --url).", valueName: "name"))
    var authTokenEnv: String?

    @Flag(help: "Print which provider answered, on stderr.")
    var showProvider = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let token = authTokenEnv.flatMap { environment[$0] }
        let prompts = prompt.isEmpty ? nil : [prompt.joined(separator: " ")]
        let ask: @Sendable (String) async throws -> Bool = { base in
            try await Self.askAll(base: base, token: token, prompts: prompts, model: model, task: task, showProvider: showProvider)
        }
        let ok: Bool
        if let url {
            ok = try await ask(url)
        } else {
            let configuration = try config.load()
            let settings = try RouteSettings(configuration: configuration)
            _ = try settings.validate(path: configuration.path ?? "defaults")
            if let model { try settings.checkRequest(model: model, task: task) }
            ok = try await GatewayServer.withLocalGateway(settings: settings, environment: environment, ask)
        }
        if !ok { throw ExitCode(1) }
    }

    /// Asks each prompt; `nil` prompts means stdin lines. Returns whether all succeeded.
    static func askAll(base: String, token: String?, prompts: [String]?, model: String?, task: String?, showProvider: Bool) async throws -> Bool {
        let client = GatewayClient(baseURL: base, token: token)
        var allOK = true
        do {
            let chosen: String
            if let model { chosen = model } else { chosen = try await client.firstModel() }
            let out = FileDescriptorOutput.standardOutput
            let source = prompts.map { AnyIterator($0.makeIterator()) } ?? AnyIterator { readLine(strippingNewline: true) }
            while let line = source.next() {
                let text = line.trimmingCharacters(in: .whitespaces)
                if text.isEmpty { continue }
                do {
                    let provider = try await client.ask(prompt: text, model: chosen, task: task) { piece in
                        try out.write(piece)
                        try out.flush()
                    }
                    try out.write("\n")
                    try out.flush()
                    if showProvider { writeStandardError("[\(provider)]\n") }
                } catch let error as GatewayClientError {
                    try out.write("\n")
                    try out.flush()
                    writeStandardError("Error: \(error.localizedDescription)\n")
                    allOK = false
                    if case .unreachable = error { break }
                }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return allOK
    }
}
