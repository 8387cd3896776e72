import ArgumentParser
import CopilotCore

extension AudioFileEncoding: ExpressibleByArgument {}

/// `copilot convert`: decode any input, downmix to mono, resample, write WAV/FLAC or raw PCM.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode, downmix to mono and resample audio; write WAV, FLAC or raw PCM.",
        discussion: """
            Reads the shared audio input (a file of any format libsndfile decodes, raw PCM on \
            stdin, or a live ALSA device) and writes mono audio at --out-rate (default: the \
            input's rate). The output format follows the extension of --to (.wav, .flac, .ogg, \
            .opus, .mp3); \
            `--to -` writes raw PCM to stdout. Files appear atomically when complete.

            Examples:
              copilot convert talk.flac --out-rate 16000 --to talk16k.wav
              copilot convert music.mp3 --out-rate 16000 --to - | copilot vad
              copilot convert --rate 48000 --channels 2 --out-rate 16000 --to mic.flac < mic.raw
              copilot convert --device null --duration 2 --to silence.wav
            """)

    @OptionGroup(title: "Audio input") var audio: AudioInputOptions
    @OptionGroup var config: ConfigOptions

    @Option(help: ArgumentHelp("Output file (.wav, .flac, .ogg, .opus, .mp3), or - for raw PCM on stdout.", valueName: "file|-"))
    var to: String

    @Option(help: ArgumentHelp("Output sample rate in Hz (default: the input's).", valueName: "hz"))
    var outRate: Int?

    @Option(help: ArgumentHelp("Raw PCM format written with --to - (default s16le).", valueName: "format"))
    var outRaw: RawSampleFormat?

    @Option(help: ArgumentHelp("Sample encoding in a WAV/FLAC file: s16, s24 or f32 (WAV only).", valueName: "encoding"))
    var outEncoding: AudioFileEncoding = .pcm16

    func validate() throws {
        if let outRate, !(1...AudioError.maximumSampleRate).contains(outRate) {
            throw ValidationError("--out-rate must be between 1 and \(AudioError.maximumSampleRate) Hz, got \(outRate)")
        }
        if to == "-" {
            if outEncoding != .pcm16 {
                throw ValidationError("--out-encoding applies to files; with --to - use --out-raw s16le|s32le|f32le")
            }
            return
        }
        if outRaw != nil {
            throw ValidationError("--out-raw applies to --to - (stdout); the file's format follows its extension")
        }
        guard let format = AudioFileFormat(pathExtension: to) else {
            throw ValidationError("cannot tell the format of \(to) from its extension; name it .wav, .flac, .ogg, .opus or .mp3, or use --to - for raw PCM")
        }
        if format == .flac && outEncoding == .float32 {
            throw ValidationError("FLAC stores integers; use --out-encoding s16 or s24, or write a .wav")
        }
        if !format.isLossless && outEncoding != .pcm16 {
            throw ValidationError("--out-encoding applies to .wav and .flac; \(format.rawValue) chooses its own")
        }
    }

    func run() throws {
        let stream = try audio.open(targetRate: outRate, configuration: try config.load())
        if to == "-" {
            try withStandardOutput { out in
                try stream.drain(into: RawPCMWriter(output: out, format: outRaw ?? .s16le))
            }
        } else if let format = AudioFileFormat(pathExtension: to) {
            let writer = try AudioFileWriter(
                path: to, format: format, sampleRate: stream.sampleRate, channels: 1, encoding: outEncoding)
            try stream.drain(into: writer)
        }
    }
}
