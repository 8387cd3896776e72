import ArgumentParser
import CopilotCore
import Foundation

extension TranscriptFormat: ExpressibleByArgument {}

/// `copilot transcribe`: speech to text with a Whisper model (CTranslate2 format) on the CPU.
struct Transcribe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Transcribe speech with Whisper (tiny.en by default) on the CPU.",
        discussion: """
            Reads the shared audio input (any file libsndfile decodes, raw PCM on stdin, or a \
            live ALSA device), resamples it to 16 kHz mono and transcribes it in 30 s windows \
            the way faster-whisper does (greedy search, timestamp rules, temperature fallback).

            The model directory is --model DIR, else `model` in the [transcribe] section of the \
            configuration, else $COPILOT_MODEL_DIR, else models/tiny.en in the repository the \
            executable was built in (`make model` puts it there), else \
            /usr/local/share/copilot/models/tiny.en.

            Examples:
              copilot transcribe talk.wav
              copilot transcribe meeting.flac --format srt --output meeting.srt
              copilot transcribe talk.wav --format json --threads 2 | jq '.segments[].text'
              copilot transcribe long-meeting.wav --vad --format vtt
              copilot transcribe talk.wav --beam-size 5
              arecord -f S16_LE -r 16000 -c 1 -d 10 | copilot transcribe
            """)

    @OptionGroup(title: "Audio input") var audio: AudioInputOptions
    @OptionGroup var config: ConfigOptions

    @Option(help: ArgumentHelp("Whisper model directory (model.bin, config.json, vocabulary.txt).", valueName: "dir"))
    var model: String?

    @Option(help: ArgumentHelp("Output format: txt, srt, vtt or json (default txt).", valueName: "format"))
    var format: TranscriptFormat?

    @Option(help: ArgumentHelp("Write the transcript to this file (atomically) instead of stdout.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Worker threads (default: one per CPU core).", valueName: "n"))
    var threads: Int?

    @Option(help: ArgumentHelp("Beams searched at temperature 0 (default 1: greedy).", valueName: "n"))
    var beamSize: Int?

    @Option(help: ArgumentHelp("Spoken language; tiny.en transcribes English (en) only.", valueName: "code"))
    var language: String?

    @Flag(help: "Decode only the speech the default VAD finds ([vad] settings); timestamps still refer to the input.")
    var vad = false

    @Flag(inversion: .prefixedNo, help: "Prompt each 30 s window with the previous text (default on).")
    var conditionOnPreviousText: Bool?

    @Option(help: ArgumentHelp("Seed of the sampler used by the temperature fallback.", valueName: "n"))
    var seed: UInt64 = 0

    func validate() throws {
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256, got \(threads)")
        }
        if let beamSize, !(1...16).contains(beamSize) {
            throw ValidationError("--beam-size must be between 1 and 16, got \(beamSize)")
        }
        if output == "-" {
            throw ValidationError("--output names a file; leave it out to write to stdout")
        }
    }

    func run() throws {
        let configuration = try config.load()
        var settings = try TranscribeSettings(configuration: configuration)
        if let threads { settings.threads = threads }
        if let format { settings.format = format }
        if let beamSize { settings.beamSize = beamSize }
        if let conditionOnPreviousText { settings.conditionOnPreviousText = conditionOnPreviousText }
        let directory = try WhisperModel.locate(explicit: model, configured: settings.model.isEmpty ? nil : settings.model)
        // Open the input first so a bad file fails at once, then load the model while a live
        // capture fills its queue.
        let stream = try audio.open(targetRate: WhisperMel.sampleRate, configuration: configuration)
        let whisper = try WhisperModel(directory: directory)
        try whisper.checkLanguage(language)
        var options = settings.transcriptionOptions
        options.decoding.seed = seed
        let transcriber = Transcriber(model: whisper, options: options, threads: settings.resolvedThreads)
        let input = try stream.readAll()
        let speech = vad
            ? try SpeechOnlyAudio(
                samples: input, sampleRate: WhisperMel.sampleRate,
                detector: VADSettings(section: configuration.section("vad")).makeDetector(for: .segments))
            : nil
        let samples = speech?.samples ?? input
        let renderer = TranscriptRenderer(format: settings.format)
        let progress = ProgressLine(enabled: Double(samples.count) > 30 * Double(WhisperMel.sampleRate))
        defer { progress.clear() }
        if let output {
            var text = renderer.header
            var count = 0
            try transcriber.transcribe(samples: samples, progress: { progress.update(label: "transcribe", done: $0, total: $1) }) {
                text += renderer.render(speech?.restore($0) ?? $0, first: count == 0)
                count += 1
            }
            text += renderer.footer(segmentCount: count)
            try TranscriptFile.write(text, to: output)
        } else {
            try withStandardOutput { out in
                try out.write(renderer.header)
                var count = 0
                try transcriber.transcribe(samples: samples, progress: { progress.update(label: "transcribe", done: $0, total: $1) }) {
                    progress.clear()
                    try out.write(renderer.render(speech?.restore($0) ?? $0, first: count == 0))
                    try out.flush()
                    count += 1
                }
                try out.write(renderer.footer(segmentCount: count))
            }
        }
    }
}
