import ArgumentParser
import CopilotCore
import Foundation

extension VADDetectorKind: ExpressibleByArgument {}
extension VADOutputFormat: ExpressibleByArgument {}

/// `copilot vad`: speech segments (or per-frame decisions) of 16 kHz audio.
struct Vad: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Detect speech: segments, JSON or per-frame 1/0 decisions, streamed live.",
        discussion: """
            Reads raw s16le 16 kHz mono from stdin (or a raw file) and prints each result as \
            soon as it is decided.

            Examples:
              copilot vad < speech.raw                       # "start end" per segment
              arecord -f S16_LE -r 16000 -c 1 -t raw | copilot vad --min-silence-ms 500
              copilot vad --format frames --frame-ms 10 speech.raw
              copilot vad --format json --detector energy --threshold 0.02 < speech.raw
            """)

    @Argument(help: ArgumentHelp("Raw s16le 16 kHz mono file; - or absent reads stdin.", valueName: "input"))
    var input: String?

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

    @Option(help: ArgumentHelp("Drop segments shorter than this.", valueName: "ms"))
    var minSpeechMs: Int?

    @Option(help: ArgumentHelp("Silence that ends a segment.", valueName: "ms"))
    var minSilenceMs: Int?

    @Option(help: ArgumentHelp("Pre-roll added before each segment.", valueName: "ms"))
    var padMs: Int?

    @Flag(help: .hidden)
    var dumpFeatures = false

    @OptionGroup var config: ConfigOptions

    func run() throws {
        var settings = try VADSettings(section: try config.load().section("vad"))
        if let detector { settings.detector = detector }
        if let frameMs { settings.frameMs = frameMs }
        if let aggressiveness { settings.aggressiveness = aggressiveness }
        if let threshold { settings.threshold = threshold }
        if let minSpeechMs { settings.shaping.minSpeechMs = minSpeechMs }
        if let minSilenceMs { settings.shaping.minSilenceMs = minSilenceMs }
        if let padMs { settings.shaping.padMs = padMs }
        let detector = try settings.makeDetector(for: format)
        let reader = try openInput()
        if dumpFeatures { return try dumpFeatureRows(reader) }
        let runner = VoiceActivityRunner(detector: detector, sampleRate: 16_000, shaping: settings.shaping)
        try withStandardOutput { out in
            if format == .frames {
                runner.onFrame = { _, decision in try out.write(decision.isSpeech ? "1\n" : "0\n") }
            } else {
                runner.onSegment = { segment, _ in try out.write(format.line(for: segment)) }
            }
            var buffer = [Float](repeating: 0, count: 8192)
            while true {
                let n = try buffer.withUnsafeMutableBufferPointer { try reader.read(into: $0) }
                if n == 0 { break }
                try buffer.withUnsafeBufferPointer { try runner.feed(UnsafeBufferPointer(rebasing: $0[0..<n])) }
                try out.flush()
            }
            try runner.finish()
        }
    }

    /// Raw float32 rows of the default detector's features, one row per 10 ms hop.
    private func dumpFeatureRows(_ reader: RawPCMReader) throws {
        let stream = SpectralFeatureStream()
        try withStandardOutput { out in
            var buffer = [Float](repeating: 0, count: 8192)
            while true {
                let n = try buffer.withUnsafeMutableBufferPointer { try reader.read(into: $0) }
                if n == 0 { break }
                try buffer.withUnsafeBufferPointer { all in
                    try stream.feed(UnsafeBufferPointer(rebasing: all[0..<n])) { try out.write(bytes: UnsafeRawBufferPointer($0)) }
                }
            }
        }
    }

    private func openInput() throws -> RawPCMReader {
        guard let input, input != "-" else { return RawPCMReader(fd: STDIN_FILENO, description: "stdin") }
        let fd = open(input, O_RDONLY)
        guard fd >= 0 else { throw VADError.readFailed(input: input, reason: String(cString: strerror(errno))) }
        return RawPCMReader(fd: fd, description: input)
    }
}
