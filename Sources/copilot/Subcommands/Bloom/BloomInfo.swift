import ArgumentParser
import CopilotCore

/// `copilot bloom info`: a filter's parameters and state.
struct BloomInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a filter's parameters, fill ratio, estimated count and current false-positive rate.",
        discussion: """
            Examples:
              copilot bloom info seen.bloom
              copilot bloom info seen.bloom --json | jq .current_fp_rate
            """)

    @Argument(help: "The filter file.")
    var file: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let report = BloomFilterReport(path: file, filter: try BloomFile.open(file))
        try withStandardOutput { out in try out.write(json ? report.json : report.text) }
    }
}
