import ArgumentParser
import CopilotCore
import CopilotGateway
import CopilotReference
import Foundation

/// `copilot consensus`: the consensus answer among expert answers, with agreement scores.
struct Consensus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find the consensus answer among expert answers and score their agreement.",
        discussion: """
            Input: JSON Lines or a JSON array of {"expert": "...", "text": "...", "weight": 1.0, \
            "confidence": 0.9} (weight and confidence optional, default 1). Answers with no \
            words are left out with a warning. Short factual answers (numbers, yes/no, choice \
            letters) are voted on by value; longer ones are compared by word n-gram overlap. \
            In auto mode, short answers that name different central values (names, numbers \
            with units, dates) or deny what another asserts ("Canberra, not Sydney") never \
            share a position; --json lists them under `contradictions`. --question names the topic, \
            whose own names and numbers are not taken as answers.

            With --ask, the answers come from a circle of experts: the question goes at once \
            to --experts different models through the router (the configured providers in \
            this process, or a running gateway with --url), each with its own timeout; experts \
            that fail or time out are reported on stderr and left out. --json then lists every \
            expert's answer, latency, tokens and cost beside the consensus.

            --impl reference runs CopilotReference's aggregator, the Python prototype's: word \
            overlap and the factual vote, with no contradiction check, so it reads no --question.

            Examples:
              copilot consensus answers.jsonl
              copilot consensus --ask "Which port does Redis use by default?" --experts 3 --config route.toml
              copilot consensus --ask "Summarise the risk" --experts 5 --task analysis --url http://127.0.0.1:8080 --json
              cat answers.json | copilot consensus --json
              copilot consensus --json --matrix --threshold 0.3 answers.jsonl
              copilot consensus --matrix answers.jsonl    # text, blank line, TSV matrix
              copilot consensus --json --question "What is the capital of Australia?" answers.jsonl
              copilot consensus answers.jsonl --impl reference --stats   # CopilotReference's aggregator
            """)

    @Argument(help: ArgumentHelp("Answers file (JSON Lines or JSON array); `-` or absent: stdin.", valueName: "input"))
    var input: String?

    @Flag(help: "Print the JSON report instead of the consensus text.")
    var json = false

    @Flag(help: "Add the pairwise similarity matrix (JSON key `matrix`, or a TSV table after the text).")
    var matrix = false

    @Option(help: ArgumentHelp("Similarity at which two answers share a position, 0...1 (default from config: 0.15).", valueName: "similarity"))
    var threshold: Double?

    @Option(help: ArgumentHelp("How answers are compared (default from config: auto).", valueName: "mode"))
    var mode: ConsensusMode?

    @Option(help: ArgumentHelp("The question the answers reply to; its names and numbers are the topic, not an answer.", valueName: "text"))
    var question: String?

    @OptionGroup(title: "Implementation") var implementation: ImplementationOptions

    @OptionGroup(title: "Configuration")
    var config: ConfigOptions

    @Option(help: ArgumentHelp("Ask this question of a circle of experts instead of reading answers.", valueName: "question"))
    var ask: String?

    @Option(help: ArgumentHelp("With --ask: how many different models to ask.", valueName: "n"))
    var experts = 3

    @Option(help: ArgumentHelp("With --ask: the task type from [[route.tasks]].", valueName: "task"))
    var task: String?

    @Option(help: ArgumentHelp("With --ask: a running gateway to ask through (default: the configured providers, in this process).", valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("With --ask and --url: environment variable holding the gateway's bearer token.", valueName: "name"))
    var authTokenEnv: String?

    @Option(help: ArgumentHelp("With --ask: how long each expert may take, in milliseconds.", valueName: "ms"))
    var timeoutMs = 60_000

    func validate() throws {
        if let threshold, !(0...1).contains(threshold) {
            throw ValidationError("--threshold must be between 0 and 1, got \(threshold)")
        }
        if let ask {
            guard input == nil else { throw ValidationError("give either an answers file or --ask, not both") }
            guard question == nil else { throw ValidationError("with --ask the question is the --ask text; drop --question") }
            guard !ask.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("--ask needs a question") }
            guard experts >= 1 && experts <= 64 else { throw ValidationError("--experts must be 1...64, got \(experts)") }
            guard timeoutMs >= 1 else { throw ValidationError("--timeout-ms must be at least 1, got \(timeoutMs)") }
        }
    }

    func run() async throws {
        let configuration = try config.load()
        var options = try ConsensusOptions(configuration: configuration)
        if let threshold { options.threshold = threshold }
        if let mode { options.mode = mode }
        let start = monotonicNanoseconds()
        let requested = try implementation.resolve(configuration)
        if requested == .reference && question != nil {
            throw ValidationError("--question names the topic of the contradiction check, which the reference aggregator does not have; drop --question or use --impl optimized")
        }
        let (aggregator, selection) = ImplementationSelection.consensusAggregator(options: options, requested: requested)
        implementation.announce(selection)
        if let ask {
            try await askExperts(ask, configuration: configuration, aggregator: aggregator)
            implementation.printStatistics([selection], since: start, audioSeconds: nil)
            return
        }
        let answers = try ConsensusInput.read(path: input)
        let report = try aggregator.aggregate(answers, question: question)
        let source = ConsensusInput.sourceName(input)
        for index in report.excluded {
            writeStandardError(
                "warning: \(source) line \(answers[index].line): the answer of expert \"\(answers[index].expert)\" has no words; left out of the vote\n")
        }
        try withStandardOutput { out in
            try out.write(
                json
                    ? ConsensusReportFormatter.json(report, answers: answers, matrix: matrix)
                    : ConsensusReportFormatter.plain(report, answers: answers, matrix: matrix))
        }
        implementation.printStatistics([selection], since: start, audioSeconds: nil)
    }
}

extension Consensus {
    /// `--ask`: the circle of experts, then the consensus of what came back.
    func askExperts(_ question: String, configuration: Configuration, aggregator: any ConsensusAggregating) async throws {
        let environment = ProcessInfo.processInfo.environment
        let panel: (replies: [ExpertReply], wallMs: Double)
        if let url {
            var token: String?
            if let authTokenEnv {
                guard let value = environment[authTokenEnv], !value.isEmpty else {
                    throw ValidationError("--auth-token-env \(authTokenEnv): the variable is not set; export it or drop the option")
                }
                token = value
            }
            let client = GatewayClient(baseURL: url, token: token)
            do {
                let models = try ExpertPanel.choose(experts, from: try await client.models())
                panel = await ExpertPanel.ask(question, models: models, task: task, client: client, timeoutMs: timeoutMs)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        } else {
            let settings = try RouteSettings(configuration: configuration)
            _ = try settings.validate(path: configuration.path ?? "defaults", environment: environment)
            if let task, settings.task(named: task) == nil { throw RouteError.unknownTask(task, known: settings.tasks.map(\.name)) }
            let models = try ExpertPanel.choose(experts, from: ExpertPanel.models(settings: settings, task: task))
            let costTable = Dictionary(
                settings.providers.map { ($0.name, (input: $0.costInputPer1k, output: $0.costOutputPer1k)) }, uniquingKeysWith: { _, last in last })
            let (task, timeoutMs) = (task, timeoutMs)
            panel = try await GatewayServer.withLocalGateway(settings: settings, environment: environment) { base in
                let client = GatewayClient(baseURL: base)
                do {
                    _ = try await client.models()  // the client's pool, ready before the question
                    let panel = await ExpertPanel.ask(question, models: models, task: task, client: client, timeoutMs: timeoutMs, costs: costTable)
                    try await client.shutdown()
                    return panel
                } catch {
                    try? await client.shutdown()
                    throw error
                }
            }
        }
        let (replies, wallMs) = panel
        var answers: [ExpertAnswer] = []
        for reply in replies {
            if let text = reply.text {
                answers.append(ExpertAnswer(expert: reply.model, text: text))
                writeStandardError(String(format: "expert %@ (%@): %.0f ms\n", reply.model, reply.provider ?? "?", reply.latencyMs))
            } else {
                writeStandardError("warning: expert \(reply.model) gave no answer (\(reply.error ?? "unknown error")); left out\n")
            }
        }
        guard !answers.isEmpty else {
            throw ExpertPanel.Failure.noAnswers(reasons: replies.map { "\($0.model): \($0.error ?? "?")" }.joined(separator: "; "))
        }
        let report = try aggregator.aggregate(answers, question: question)
        try withStandardOutput { out in
            guard json else {
                try out.write(ConsensusReportFormatter.plain(report, answers: answers, matrix: matrix))
                return
            }
            let slowest = replies.map(\.latencyMs).max() ?? 0
            let expertsJSON = replies.map { r -> String in
                var fields = ["\"model\":\(JSONText.quote(r.model))"]
                fields.append("\"provider\":" + (r.provider.map(JSONText.quote) ?? "null"))
                fields.append("\"answer\":" + (r.text.map(JSONText.quote) ?? "null"))
                fields.append("\"error\":" + (r.error.map(JSONText.quote) ?? "null"))
                fields.append(String(format: "\"latency_ms\":%.3f", r.latencyMs))
                fields.append("\"prompt_tokens\":" + (r.promptTokens.map(String.init) ?? "null"))
                fields.append("\"completion_tokens\":" + (r.completionTokens.map(String.init) ?? "null"))
                fields.append("\"cost\":" + (r.cost.map { String($0) } ?? "null"))
                return "{" + fields.joined(separator: ",") + "}"
            }
            let consensus = ConsensusReportFormatter.json(report, answers: answers, matrix: matrix)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try out.write(
                "{\"question\":\(JSONText.quote(question)),\"experts\":[\(expertsJSON.joined(separator: ","))],"
                    + String(format: "\"wall_ms\":%.3f,\"slowest_expert_ms\":%.3f,\"overhead_ms\":%.3f,", wallMs, slowest, wallMs - slowest)
                    + "\"consensus\":\(consensus)}\n")
        }
    }
}

extension ConsensusMode: ExpressibleByArgument {}
