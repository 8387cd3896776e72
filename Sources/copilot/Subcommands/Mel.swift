import ArgumentParser
import CopilotCore
import CopilotReference

extension MelOutputFormat: ExpressibleByArgument {}

/// `copilot mel`: Whisper's log-mel features of an audio input, for debugging and for feeding
/// other tools.
struct Mel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute Whisper's log-mel features (80 bands x 10 ms frames) of audio.",
        discussion: """
            The features faster-whisper feeds its encoder: 400-sample Hann frames every 160 \
            samples at 16 kHz (input at other rates is resampled), 80 Slaney mel bands, log10 \
            clamped to 8 below the maximum, then (x + 4) / 4. The output is float32, mel-major: \
            a .npy file that numpy loads as an [80, frames] array, or raw little-endian floats.

            Examples:
              copilot mel speech.wav --output speech.npy
              copilot mel speech.flac --frames 3000 --format f32le --output window.f32
              arecord -q -f S16_LE -r 16000 -c 1 -d 5 | copilot mel --output - > live.npy
              copilot mel speech.wav --impl reference --stats --output ref.npy
            """)

    @OptionGroup(title: "Audio input") var audio: AudioInputOptions

    @Option(help: ArgumentHelp("Write the features to this file, or - for stdout.", valueName: "path"))
    var output: String = "-"

    @Option(help: ArgumentHelp("Output format: npy or f32le (default npy, or [mel] format).", valueName: "format"))
    var format: MelOutputFormat?

    @Option(help: ArgumentHelp("Pad with zero features or cut to this many frames (3000 = one 30 s window).", valueName: "n"))
    var frames: Int?

    @Option(help: ArgumentHelp("Threads computing the features (default 1, or [mel] threads).", valueName: "n"))
    var threads: Int?

    @OptionGroup(title: "Implementation") var implementation: ImplementationOptions

    @OptionGroup var config: ConfigOptions

    func validate() throws {
        if let frames, frames < 1 {
            throw ValidationError("--frames must be at least 1, got \(frames); 3000 is one 30 s Whisper window")
        }
        if let threads, !(1...64).contains(threads) {
            throw ValidationError("--threads must be in 1...64, got \(threads)")
        }
    }

    func run() throws {
        let configuration = try config.load()
        let settings = try MelSettings(configuration: configuration)
        let stream = try audio.open(targetRate: WhisperMel.sampleRate, configuration: configuration)
        let start = monotonicNanoseconds()
        let (extractor, report) = try ImplementationSelection.melExtractor(
            threads: threads ?? settings.threads, requested: implementation.resolve(configuration))
        implementation.announce(report)
        let samples = try stream.readAll()
        var features = extractor.logMelSpectrogram(samples)
        if let frames { features = features.window(startFrame: 0, frameCount: frames) }
        let format = format ?? settings.format
        if output == "-" {
            try withStandardOutput { out in
                try features.encoded(as: format).withUnsafeBytes { try out.write(bytes: $0) }
            }
        } else {
            try features.write(toFile: output, format: format)
        }
        implementation.printStatistics([report], since: start, audioSeconds: Double(samples.count) / Double(WhisperMel.sampleRate))
    }
}
