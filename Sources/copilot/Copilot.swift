import ArgumentParser
import CopilotCore
import CopilotGateway

/// `copilot`: the command-line front end. Each subcommand lives in `Subcommands/` and only
/// parses, builds a CopilotCore object, calls it and prints.
@main
struct Copilot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copilot",
        abstract: "Fast native building blocks for real-time voice AI copilots.",
        discussion: """
            Every subcommand reads stdin or a file and writes results to stdout, so they compose \
            in shell pipes. Errors go to stderr as one line, with a non-zero exit status.

            Examples (one per subcommand):
              arecord -f S16_LE -r 16000 -c 1 -t raw | copilot vad
              arecord -f S16_LE -r 16000 -c 1 -t raw | copilot buffer --tail 30 > last30s.raw
              copilot transcribe meeting.flac --vad --format srt --output meeting.srt
              arecord -f S16_LE -r 16000 -c 1 | copilot transcribe --live --format jsonl
              copilot bloom dedup < questions.txt > new-questions.txt
              copilot consensus --json answers.jsonl
              copilot route serve --config route.toml --port 8080
              copilot convert talk.mp3 --out-rate 16000 --to talk.wav
              copilot mel talk.wav --output talk-mel.npy
              copilot cache get "$(copilot cache key < request.json)"
              copilot bench --quick

            Shell completions: copilot --generate-completion-script bash|zsh|fish
            """,
        version: CopilotVersion.string,
        subcommands: [
            Vad.self,
            Buffer.self,
            Transcribe.self,
            Bloom.self,
            Consensus.self,
            Route.self,
            Convert.self,
            Mel.self,
            Cache.self,
            Bench.self,
        ])

    /// ArgumentParser's async entry point, after one step that must come before any other
    /// concurrency work: `route serve` runs its request handlers on the NIO event loops.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.starts(with: ["route", "serve"]) { GatewayServer.adoptEventLoopsAsGlobalExecutor() }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
