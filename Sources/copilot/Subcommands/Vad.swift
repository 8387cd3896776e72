import ArgumentParser
import CopilotCore
import CopilotReference
import Foundation

extension VADDetectorKind: ExpressibleByArgument {}
extension VADOutputFormat: ExpressibleByArgument {}

/// `copilot vad`: speech segments (or per-frame decisions) of any audio input, at 16 kHz.
struct Vad: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Detect speech: segments, JSON or per-frame 1/0 decisions, streamed live.",
        discussion: """
            Reads the shared audio input (raw s16le 16 kHz mono on stdin by default, any file, \
            or --device) resampled to 16 kHz, and prints each result as soon as it is decided.

            Examples:
              copilot vad < speech.raw                       # "start end" per segment
              arecord -f S16_LE -r 16000 -c 1 -t raw | copilot vad --min-silence-ms 500
              copilot vad talk.wav --format frames --frame-ms 10
              copilot vad talk.flac --format json --split segments/
              copilot vad --detector energy --threshold 0.02 < speech.raw
              copilot vad talk.wav --impl reference --stats   # CopilotReference's detector
            """)

    @OptionGroup(title: "Audio input") var audio: AudioInputOptions

    @Option(help: "Output: segments, json (one object per line) or frames (1/0 per frame).")
    var format: VADOutputFormat = .segments

    @Option(help: ArgumentHelp("Frame length: 10, 20 or 30 ms (default 30; energy: 50 ms chunks unless given or --format frames).", valueName: "ms"))
    var frameMs: Int?

    @Option(help: "Detector: default (adaptive spectral) or energy (RMS threshold).")
    var detector: VADDetectorKind?

    @Option(help: ArgumentHelp("0 (keeps most speech) ... 3 (strictest); default detector only.", valueName: "0-3"))
    var aggressiveness: Int?

    @Option(help: ArgumentHelp("energy: RMS threshold (default 0.01); default: speech probability 0...1.", valueName: "value"))
    var threshold: Double?

    @Option(help: ArgumentHelp("Drop segments shorter than this (default 100).", valueName: "ms"))
    var minSpeechMs: Int?

    @Option(help: ArgumentHelp("Silence that ends a segment (default 300).", valueName: "ms"))
    var minSilenceMs: Int?

    @Option(help: ArgumentHelp("Pre-roll added before each segment (default 0).", valueName: "ms"))
    var padMs: Int?

    @Option(help: ArgumentHelp("Also write each segment as DIR/NNNN_START.wav (DIR is created when missing).", valueName: "dir"))
    var split: String?

    @Flag(help: "With --split: replace the segment files an earlier run left in DIR.")
    var overwrite = false

    @Flag(help: .hidden)
    var dumpFeatures = false

    @OptionGroup(title: "Implementation") var implementation: ImplementationOptions

    @OptionGroup var config: ConfigOptions

    func validate() throws {
        if split != nil && format == .frames {
            throw ValidationError("--split writes segments; use --format segments or json with it")
        }
    }

    func run() throws {
        let configuration = try config.load()
        var settings = try VADSettings(section: try configuration.section("vad"))
        if let detector { settings.detector = detector }
        if let frameMs { settings.frameMs = frameMs }
        if let aggressiveness { settings.aggressiveness = aggressiveness }
        if let threshold { settings.threshold = threshold }
        if let minSpeechMs { settings.shaping.minSpeechMs = minSpeechMs }
        if let minSilenceMs { settings.shaping.minSilenceMs = minSilenceMs }
        if let padMs { settings.shaping.padMs = padMs }
        let start = monotonicNanoseconds()
        let (detector, report) = try ImplementationSelection.voiceDetector(
            settings: settings, format: format, requested: implementation.resolve(configuration))
        implementation.announce(report)
        if let split { try VADSplitter.prepareDirectory(split, overwrite: overwrite) }
        let stream = try audio.open(targetRate: SpectralVADParameters.sampleRate, configuration: configuration)
        if dumpFeatures { return try dumpFeatureRows(stream) }
        var samplesRead = 0
        let runner = VoiceActivityRunner(
            detector: detector, sampleRate: stream.sampleRate, shaping: settings.shaping, keepAudio: split != nil)
        try withStandardOutput { out in
            if format == .frames {
                runner.onFrame = { _, decision in try out.write(decision.isSpeech ? "1\n" : "0\n") }
            } else {
                runner.onSegment = { segment, samples in
                    if let split, let samples { try VADSplitter.write(segment, samples, directory: split) }
                    try out.write(format.line(for: segment))
                }
            }
            try stream.forEachChunk { chunk in
                samplesRead += chunk.count
                try runner.feed(chunk)
                try out.flush()
            }
            try runner.finish()
        }
        implementation.printStatistics([report], since: start, audioSeconds: Double(samplesRead) / Double(stream.sampleRate))
    }

    /// Raw float32 rows of the default detector's features, one row per 10 ms hop (read by
    /// benchmarks/vad_train.py).
    private func dumpFeatureRows(_ stream: AudioStream) throws {
        let features = SpectralFeatureStream()
        try withStandardOutput { out in
            try stream.forEachChunk { chunk in
                try features.feed(chunk) { try out.write(bytes: UnsafeRawBufferPointer($0)) }
            }
        }
    }
}
