import ArgumentParser
import CopilotCore
import CopilotReference
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension RingFullPolicy: ExpressibleByArgument {}

/// `copilot buffer`: a ring buffer stage between a producer and a slow consumer.
struct Buffer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Buffer an audio stream between a producer and a slow consumer; re-frame it or keep its tail.",
        discussion: """
            A reader thread fills a lock-free ring from the input while a writer thread drains \
            it to stdout. Raw input (stdin, or a file with --raw) passes through byte for byte \
            unless --frame-ms or --tail reshapes it; sizes in milliseconds follow --raw, --rate \
            and --channels. Stdin that starts like an audio file (arecord's WAV, FLAC, ...) is \
            decoded unless --raw is given. A decoded input, a --device capture, or any input with --out-rate \
            comes out as raw s16le mono at --out-rate, else at the source's rate. Under \
            --policy block nothing is ever lost (the producer waits); under drop-oldest the \
            producer never waits and the oldest audio is overwritten.

            --impl reference runs CopilotReference's stage, the Python prototype's: a lock and a \
            byte array between the threads, a deque of 20 ms blocks for --tail. The same bytes \
            come out under --policy block and with --tail.

            Examples:
              arecord -f S16_LE -r 16000 | copilot buffer --capacity-ms 5000 | slow-consumer
              copilot buffer --frame-ms 30 --hop-ms 10 < speech.raw > frames.raw
              copilot buffer --device default --tail 10 > last10s.raw   # kill -USR1 to dump
              copilot buffer --policy drop-oldest --stats < live.raw | copilot vad
              copilot buffer talk.flac --out-rate 16000 --frame-ms 20 > frames16k.raw
              copilot buffer --impl reference --stats < speech.raw > copy.raw   # CopilotReference's stage
            """)

    @OptionGroup(title: "Audio input") var audio: AudioInputOptions
    @OptionGroup var config: ConfigOptions

    @Option(help: ArgumentHelp("Re-frame the output into frames of this many milliseconds.", valueName: "ms"))
    var frameMs: Int?

    @Option(help: ArgumentHelp("Start a frame this many milliseconds after the previous one (default --frame-ms: no overlap).", valueName: "ms"))
    var hopMs: Int?

    @Option(help: ArgumentHelp("Ring capacity in milliseconds of audio (default 2000, from [buffer]).", valueName: "ms"))
    var capacityMs: Int?

    @Option(help: ArgumentHelp("When the ring is full: block (wait, lose nothing) or drop-oldest (default block).", valueName: "policy"))
    var policy: RingFullPolicy?

    @Option(help: ArgumentHelp("Keep only the last SECONDS; write them when the input ends and on each SIGUSR1.", valueName: "seconds"))
    var tail: Double?

    @Option(help: ArgumentHelp("Resample to this rate; the output is then s16le mono (default: no resampling).", valueName: "hz"))
    var outRate: Int?

    @OptionGroup(title: "Implementation") var implementation: ImplementationOptions

    func validate() throws {
        if hopMs != nil && frameMs == nil {
            throw ValidationError("--hop-ms sets the step between frames; add --frame-ms too")
        }
        if let hopMs, let frameMs, hopMs > frameMs {
            throw ValidationError("--hop-ms \(hopMs) is longer than --frame-ms \(frameMs), which would skip audio; use a hop of at most \(frameMs)")
        }
        if let outRate, !(1...AudioError.maximumSampleRate).contains(outRate) {
            throw ValidationError("--out-rate must be between 1 and \(AudioError.maximumSampleRate) Hz, got \(outRate)")
        }
        if tail != nil && frameMs != nil {
            throw ValidationError("--tail writes the raw last seconds; drop --frame-ms or --tail")
        }
    }

    func run() throws {
        let configuration = try config.load()
        let defaults = try BufferDefaults(configuration: configuration)
        // SIGUSR1 is taken before the input opens (opening stdin waits for its first bytes).
        let dumpTarget = Mutex<(any StreamBuffering)?>(nil)
        let watcher = tail == nil ? nil : SignalWatcher(signal: SIGUSR1) { dumpTarget.withLock { $0?.requestDump() } }
        defer { withExtendedLifetime(watcher) {} }
        let input = try BufferInput.open(try audio.request(targetRate: outRate, configuration: configuration))
        let settings = BufferSettings(
            sampleRate: input.layout.sampleRate, bytesPerFrame: input.layout.frameBytes,
            formatName: input.layout.format.rawValue, capacityMs: capacityMs ?? defaults.capacityMs,
            policy: policy ?? defaults.policy, frameMs: frameMs, hopMs: hopMs, tailSeconds: tail)
        let start = monotonicNanoseconds()
        let (stage, selection) = try ImplementationSelection.bufferStage(
            settings: settings, input: input.source, output: STDOUT_FILENO, requested: implementation.resolve(configuration))
        implementation.announce(selection)
        dumpTarget.withLock { $0 = stage }
        try withStandardOutput { _ in
            let report = try stage.run()
            implementation.printStatistics(
                [selection], since: start, audioSeconds: Double(report.bytesIn) / Double(max(report.bytesPerSecond, 1)),
                more: report.summary + "\n")
            if report.bytesIn == 0 && audio.readsStandardInput { throw AudioError.emptyStandardInput }
        }
    }
}
