import ArgumentParser
import CopilotCore

/// `copilot consensus`: the consensus answer among expert answers, with agreement scores.
struct Consensus: ParsableCommand {
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

            Examples:
              copilot consensus answers.jsonl
              cat answers.json | copilot consensus --json
              copilot consensus --json --matrix --threshold 0.3 answers.jsonl
              copilot consensus --matrix answers.jsonl    # text, blank line, TSV matrix
              copilot consensus --json --question "What is the capital of Australia?" answers.jsonl
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

    @OptionGroup(title: "Configuration")
    var config: ConfigOptions

    func validate() throws {
        if let threshold, !(0...1).contains(threshold) {
            throw ValidationError("--threshold must be between 0 and 1, got \(threshold)")
        }
    }

    func run() throws {
        var options = try ConsensusOptions(configuration: try config.load())
        if let threshold { options.threshold = threshold }
        if let mode { options.mode = mode }
        let answers = try ConsensusInput.read(path: input)
        let report = try ConsensusAggregator(options: options).aggregate(answers, question: question)
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
    }
}

extension ConsensusMode: ExpressibleByArgument {}
