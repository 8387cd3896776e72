import ArgumentParser
import CopilotCore

/// `copilot`: the command-line front end. Each subcommand lives in `Subcommands/` and only
/// parses, builds a CopilotCore object, calls it and prints.
@main
struct Copilot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copilot",
        abstract: "Fast native building blocks for real-time voice AI copilots.",
        discussion: """
            Every subcommand reads stdin or a file and writes results to stdout, so they compose \
            in shell pipes. Errors go to stderr as one line, with a non-zero exit status.

            Shell completions: copilot --generate-completion-script bash|zsh|fish
            """,
        version: CopilotVersion.string,
        subcommands: [
            Vad.self,
            Buffer.self,
            Transcribe.self,
            Bloom.self,
            Consensus.self,
            Convert.self,
            Mel.self,
            Bench.self,
        ])
}
