import ArgumentParser
import CopilotCore
import CopilotReference
import Foundation

extension TranscriptFormat: ExpressibleByArgument {}

/// `copilot transcribe`: speech to text with a Whisper model (CTranslate2 format) on the CPU.
struct Transcribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Transcribe speech with Whisper (tiny.en by default) on the CPU.",
        discussion: """
            Reads the shared audio input (any file libsndfile decodes, raw PCM on stdin, or a \
            live ALSA device) and resamples it to 16 kHz mono. By default a voice activity \
            detector ([vad] settings) finds the speech, and only that is decoded, the way \
            WhisperX does: its regions (cut at pauses of a second or more) are joined into 30 s \
            windows and each segment is placed back on the speech it covers. Silence and noise \
            are never decoded (no words from them; an hour of silence costs seconds), a long \
            pause never loses the speech after it, and every timestamp lies on its speech, inside \
            the file. --no-vad decodes every 30 s window of the input exactly as faster-whisper \
            does (greedy search, timestamp rules, temperature fallback), token for token. A \
            file is read and transcribed as it goes: memory stays flat whatever its length \
            (--no-vad keeps the log-mel in $TMPDIR, 115 MB an hour).

            With --live, the audio is transcribed while it arrives (a microphone, a pipe, a FIFO, \
            or a file at --pace realtime): a streaming VAD cuts utterances (with pre-roll), and \
            each final line appears as soon as the speaker stops (the decode starts as the \
            silence does). --format jsonl streams {"type": "partial"|"final", "utterance", \
            "start", "end", "text"} events, one per line, flushed at once; srt and vtt append a \
            cue per final. When decoding falls behind, partials are skipped, never finals. \
            Ctrl-C, --duration and the end of the input print the last utterance first.

            --word-timestamps gives each segment its words with start, end and probability \
            (json "words", faster-whisper's fields), timed from the cross-attention of the \
            model's alignment heads and dynamic time warping as faster-whisper does; segment \
            times then follow their words. In srt and vtt, --max-line-width N (characters) \
            wraps each segment's cue from its words, and with --max-line-count N too the cues \
            are re-cut from words (at most N lines each, across segments, a new cue after a \
            pause of more than 3 s), as openai-whisper's writer does.

            The model directory is --model DIR, else `model` in the [transcribe] section of the \
            configuration, else $COPILOT_MODEL_DIR, else models/tiny.en in the repository the \
            executable was built in (`make model` puts it there), else \
            /usr/local/share/copilot/models/tiny.en.

            Examples:
              copilot transcribe talk.wav
              copilot transcribe meeting.flac --format srt --output meeting.srt
              copilot transcribe talk.wav --format json --threads 2 | jq '.segments[].text'
              copilot transcribe long-meeting.wav --format vtt
              copilot transcribe talk.wav --no-vad --format json   # faster-whisper's windows
              copilot transcribe talk.wav --beam-size 5
              copilot transcribe talk.wav --word-timestamps --format json | jq '.segments[].words[]'
              copilot transcribe talk.wav --word-timestamps --format srt --max-line-width 42 --max-line-count 2
              arecord -f S16_LE -r 16000 -c 1 -d 10 | copilot transcribe
              copilot transcribe --live --device default --partials
              arecord -f S16_LE -r 16000 -c 1 | copilot transcribe --live --format jsonl | next-stage
              copilot transcribe meeting.wav --live --pace realtime --partials --format jsonl --stats
              copilot transcribe meeting.wav --live --format srt > meeting.srt
              copilot transcribe talk.wav --impl reference --stats   # CopilotReference's loops
            """)

    @OptionGroup(title: "Audio input") var audio: AudioInputOptions
    @OptionGroup var config: ConfigOptions
    @OptionGroup(title: "Live transcription") var live: LiveOptions
    @OptionGroup(title: "Implementation") var implementation: ImplementationOptions

    @Option(help: ArgumentHelp("Whisper model directory (model.bin, config.json, vocabulary.txt).", valueName: "dir"))
    var model: String?

    @Option(help: ArgumentHelp("Output format: txt, srt, vtt, json or jsonl (default txt; --live: not json).", valueName: "format"))
    var format: TranscriptFormat?

    @Option(help: ArgumentHelp("Write the transcript to this file (atomically) instead of stdout.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Worker threads; 0: one per CPU core (the default).", valueName: "n"))
    var threads: Int?

    @Option(help: ArgumentHelp("Beams searched at temperature 0 (default 1: greedy).", valueName: "n"))
    var beamSize: Int?

    @Option(help: ArgumentHelp("Spoken language; tiny.en transcribes English (en) only.", valueName: "code"))
    var language: String?

    @Flag(
        inversion: .prefixedNo,
        help: "Transcribe only the speech the VAD finds, region by region (default on; --no-vad: every 30 s window, as faster-whisper).")
    var vad: Bool?

    @Flag(inversion: .prefixedNo, help: "Prompt each 30 s window with the previous text (default on; --live: off).")
    var conditionOnPreviousText: Bool?

    @Option(help: ArgumentHelp("Seed of the sampler used by the temperature fallback.", valueName: "n"))
    var seed: UInt64 = 0

    @Flag(
        inversion: .prefixedNo,
        help: "Advance the samples of a fallback temperature and the beams of --beam-size as one batch (default on; --no-batch: one after another, the same text).")
    var batch: Bool = true

    @Flag(inversion: .prefixedNo, help: "Give each segment its words with start, end and probability (default off).")
    var wordTimestamps: Bool?

    @Option(help: ArgumentHelp("srt/vtt: cut cue lines from words at this many characters (needs --word-timestamps).", valueName: "n"))
    var maxLineWidth: Int?

    @Option(help: ArgumentHelp("srt/vtt: at most this many lines per cue, cues re-cut across segments (needs --max-line-width).", valueName: "n"))
    var maxLineCount: Int?

    func validate() throws {
        if let threads, !(0...256).contains(threads) {
            throw ValidationError("--threads must be between 0 (one per CPU core) and 256, got \(threads)")
        }
        if let beamSize, !(1...16).contains(beamSize) {
            throw ValidationError("--beam-size must be between 1 and 16, got \(beamSize)")
        }
        if output == "-" {
            throw ValidationError("--output names a file; leave it out to write to stdout")
        }
        if let maxLineWidth, maxLineWidth < 1 {
            throw ValidationError("--max-line-width must be at least 1 character, got \(maxLineWidth)")
        }
        if let maxLineCount, maxLineCount < 1 {
            throw ValidationError("--max-line-count must be at least 1 line, got \(maxLineCount)")
        }
        if maxLineCount != nil && maxLineWidth == nil {
            throw ValidationError("--max-line-count needs --max-line-width N: cues are re-cut from lines of at most N characters")
        }
        if live.live {
            if wordTimestamps == true {
                throw ValidationError("--word-timestamps times the words of a whole file; drop it with --live")
            }
            if format == .json {
                throw ValidationError("--format json is one document written at the end; the live transcript streams, so use --format jsonl")
            }
            if output != nil {
                throw ValidationError("--live streams to stdout as it goes; redirect stdout (> FILE) instead of --output")
            }
            if let vad {
                throw ValidationError("--live always cuts utterances with the VAD ([vad] settings); drop --\(vad ? "" : "no-")vad")
            }
        }
    }

    func run() throws {
        let configuration = try config.load()
        var settings = try TranscribeSettings(configuration: configuration)
        if let threads { settings.threads = threads }
        if let format { settings.format = format }
        if let beamSize { settings.beamSize = beamSize }
        if let conditionOnPreviousText { settings.conditionOnPreviousText = conditionOnPreviousText }
        if let vad { settings.vad = vad }
        if let wordTimestamps { settings.wordTimestamps = wordTimestamps }
        if live.live { settings.wordTimestamps = false }  // a live final has no words (yet)
        if maxLineWidth != nil {
            guard settings.wordTimestamps else {
                throw ValidationError("--max-line-width cuts cues from word times; add --word-timestamps")
            }
            guard settings.format == .srt || settings.format == .vtt else {
                throw ValidationError("--max-line-width shapes subtitle cues; pass --format srt or --format vtt")
            }
        }
        let directory = try WhisperModel.locate(explicit: model, configured: settings.model.isEmpty ? nil : settings.model)
        // Open the input first so a bad file fails at once, then load the model while a live
        // capture fills its queue.
        let stream = try audio.open(targetRate: WhisperMel.sampleRate, configuration: configuration)
        let start = monotonicNanoseconds()
        let whisper = try WhisperModel(directory: directory)
        try whisper.checkLanguage(language)
        if settings.wordTimestamps { try whisper.checkAlignmentHeads() }
        var options = settings.transcriptionOptions
        options.decoding.seed = seed
        options.decoding.batchesHypotheses = batch
        let requested = try implementation.resolve(configuration)
        let (transcriber, report) = ImplementationSelection.transcriber(
            model: whisper, options: options, threads: settings.resolvedThreads, requested: requested)
        implementation.announce(report)
        if live.live {
            guard settings.format != .json else {
                throw ValidationError("[transcribe] format = \"json\" cannot stream; pass --format jsonl (or txt, srt, vtt) with --live")
            }
            let vadReport = try transcribeLive(
                stream: stream, transcriber: transcriber, settings: settings, configuration: configuration, requested: requested)
            implementation.printStatistics([report, vadReport], since: start, audioSeconds: nil)
            return
        }
        var reports = [report]
        var audioSeconds: Double?
        var held = ""
        defer { implementation.printStatistics(reports, since: start, audioSeconds: audioSeconds, more: held) }
        var detector: (any VoiceActivityDetecting)?
        if settings.vad {
            let (vadDetector, vadReport) = try ImplementationSelection.voiceDetector(
                settings: VADSettings(section: configuration.section("vad")), format: .segments, requested: requested)
            implementation.announce(vadReport)
            reports.append(vadReport)
            detector = vadDetector
        }
        let renderer = TranscriptRenderer(format: settings.format)
        let cues = maxLineWidth.map { WordCueCutter(maxLineWidth: $0, maxLineCount: maxLineCount) }
        var cueNumber = 0
        /// A segment's text, or with --max-line-width the cues its words complete.
        func rendered(_ segment: WhisperSegment?, first: Bool) -> String {
            guard let cues else { return segment.map { renderer.render($0, first: first) } ?? "" }
            return (segment.map(cues.add) ?? cues.finish()).map { cue in
                cueNumber += 1
                return renderer.render(cue, number: cueNumber)
            }.joined()
        }
        // An input of unknown length (stdin) gets the line once its length is known (--no-vad).
        let progress = ProgressLine(enabled: stream.expectedSampleCount.map { $0 > 30 * WhisperMel.sampleRate } ?? true)
        defer { progress.clear() }
        // The audio is read, resampled and transcribed window by window (memory stays flat).
        func run(_ onSegment: (WhisperSegment) throws -> Void) throws {
            let report: (Double, Double) -> Void = { progress.update(label: "transcribe", done: $0, total: $1) }
            let statistics = if let detector {
                try transcriber.transcribe(stream: stream, detector: detector, progress: report, onSegment: onSegment)
            } else {
                try transcriber.transcribe(stream: stream, progress: report, onSegment: onSegment)
            }
            audioSeconds = statistics.durationSeconds
            held = String(format: "audio held: at most %.1f s at once\n", statistics.peakHeldSeconds)
        }
        if let output {
            var text = renderer.header
            var count = 0
            try run {
                text += rendered($0, first: count == 0)
                count += 1
            }
            text += rendered(nil, first: false) + renderer.footer(segmentCount: count)
            try TranscriptFile.write(text, to: output)
        } else {
            try withStandardOutput { out in
                try out.write(renderer.header)
                var count = 0
                try run {
                    progress.clear()
                    try out.write(rendered($0, first: count == 0))
                    try out.flush()
                    count += 1
                }
                try out.write(rendered(nil, first: false) + renderer.footer(segmentCount: count))
            }
        }
    }

    /// `--live`: the pipeline prints each event as it comes, flushed at once.
    private func transcribeLive(
        stream: AudioStream, transcriber: Transcriber, settings: TranscribeSettings, configuration: Configuration,
        requested: Implementation
    ) throws -> ImplementationReport {
        let vadSettings = try VADSettings(section: configuration.section("vad"))
        let (detector, vadReport) = try ImplementationSelection.voiceDetector(settings: vadSettings, format: .segments, requested: requested)
        implementation.announce(vadReport)
        let pipeline = try LiveTranscriber(
            transcriber: transcriber, detector: detector, shaping: vadSettings.shaping,
            options: live.options(conditionOnPreviousText: conditionOnPreviousText))
        let renderer = LiveTranscriptRenderer(format: settings.format)
        let partialLine = ProgressLine(enabled: settings.format == .txt)
        try withStandardOutput { out in
            try out.write(renderer.header)
            try out.flush()
            let trace = try live.jobTrace.map { path -> FileHandle in
                guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
                    throw ValidationError("--job-trace \(path): cannot create the file; check that its directory exists and is writable")
                }
                return file
            }
            defer { try? trace?.close() }
            let statistics = try pipeline.run(stream: stream, trace: trace.map { file in { file.write(Data($0.jsonLine.utf8)) } }) { event in
                if event.kind == .partial {
                    partialLine.update(LiveTranscriptRenderer.statusLine(event))
                } else {
                    partialLine.clear()
                }
                let text = renderer.render(event)
                if !text.isEmpty {
                    try out.write(text)
                    try out.flush()
                }
            }
            partialLine.clear()
            if implementation.stats { writeStandardError(statistics.report) }
        }
        return vadReport
    }
}
