import ArgumentParser
import CopilotCore

extension LivePace: ExpressibleByArgument {}
extension WindowEncoding: ExpressibleByArgument {}

/// The flags of `copilot transcribe --live`, shown under their own title in `--help`.
struct LiveOptions: ParsableArguments {
    @Flag(help: "Transcribe while the audio arrives: one final line per utterance as soon as it ends.")
    var live = false

    @Option(help: ArgumentHelp("Read the input as fast as possible (none) or at real-time pace (realtime); default none.", valueName: "pace"))
    var pace: LivePace?

    @Flag(help: "Also show a hypothesis of the utterance so far (jsonl events; a redrawn line on a terminal for txt).")
    var partials = false

    @Option(help: ArgumentHelp("Milliseconds of speech between partials (default 300).", valueName: "ms"))
    var partialMs: Int?

    @Option(help: ArgumentHelp("Milliseconds of speech before the first partial (default 200).", valueName: "ms"))
    var firstPartialMs: Int?

    @Option(help: ArgumentHelp("Audio kept before the detected start of speech, in ms (default 300).", valueName: "ms"))
    var preRollMs: Int?

    @Option(help: ArgumentHelp("Silence kept after the end of speech, in ms (default 30; less than [vad] min_silence_ms).", valueName: "ms"))
    var postRollMs: Int?

    @Option(help: ArgumentHelp("End with an error when a pipe or device delivers nothing for this long (default 10; 0 waits for ever).", valueName: "seconds"))
    var stallSeconds: Double?

    @Flag(help: "Print every final, also text faster than anyone speaks or heard as several voices at once (babble), which are dropped by default (--stats counts them).")
    var keepAllFinals = false

    /// Benchmark-only: how much of the 30 s window a final encodes (measures the accuracy cost
    /// of following the utterance's length).
    @Option(help: .hidden)
    var finalEncoding: WindowEncoding?

    /// Benchmark-only: a JSON line per job queued and per job done (``LiveJobRecord``), to find
    /// where the time between speech and text goes.
    @Option(help: .hidden)
    var jobTrace: String?

    /// The flags that mean something only with `--live`, as given.
    var liveOnlyFlagsGiven: [String] {
        var given: [String] = []
        if pace != nil { given.append("--pace") }
        if partials { given.append("--partials") }
        if partialMs != nil { given.append("--partial-ms") }
        if firstPartialMs != nil { given.append("--first-partial-ms") }
        if preRollMs != nil { given.append("--pre-roll-ms") }
        if postRollMs != nil { given.append("--post-roll-ms") }
        if stallSeconds != nil { given.append("--stall-seconds") }
        if keepAllFinals { given.append("--keep-all-finals") }
        if finalEncoding != nil { given.append("--final-encoding") }
        if jobTrace != nil { given.append("--job-trace") }
        return given
    }

    func validate() throws {
        if !live, let flag = liveOnlyFlagsGiven.first {
            throw ValidationError("\(flag) is a setting of the live transcript; add --live")
        }
        if partialMs != nil && !partials {
            throw ValidationError("--partial-ms sets how often partials appear; add --partials")
        }
        if firstPartialMs != nil && !partials {
            throw ValidationError("--first-partial-ms sets when the first partial appears; add --partials")
        }
        if let stallSeconds, !(stallSeconds >= 0 && stallSeconds.isFinite) {
            throw ValidationError("--stall-seconds must be 0 (wait for ever) or a positive number of seconds, got \(stallSeconds)")
        }
    }

    /// The pipeline settings these flags describe; `conditionOnPreviousText` is the explicit
    /// flag only (the live default is off, whatever the configuration says for files).
    func options(conditionOnPreviousText: Bool?) -> LiveTranscriptionOptions {
        var options = LiveTranscriptionOptions()
        options.pace = pace ?? .none
        options.partialMs = partials ? (partialMs ?? 300) : nil
        if let firstPartialMs { options.firstPartialMs = firstPartialMs }
        if let preRollMs { options.preRollMs = preRollMs }
        if let postRollMs { options.postRollMs = postRollMs }
        if let stallSeconds { options.stallSeconds = stallSeconds == 0 ? nil : stallSeconds }
        if let finalEncoding { options.finalEncoding = finalEncoding }
        if keepAllFinals {
            options.maximumWordsPerSecond = nil
            options.minimumVoicingStrength = nil
        }
        if let conditionOnPreviousText { options.conditionOnPreviousText = conditionOnPreviousText }
        options.stopOnInterrupt = true
        return options
    }
}
