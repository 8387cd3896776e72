import ArgumentParser
import CopilotCore

extension RawSampleFormat: ExpressibleByArgument {}
extension ResampleQuality: ExpressibleByArgument {}

/// The audio input shared by every audio subcommand: a file, raw PCM on stdin, or a live ALSA
/// device. Include it as `@OptionGroup(title: "Audio input") var audio: AudioInputOptions`.
///
/// Defaults come from the `[audio]` section of the configuration; flags override them.
struct AudioInputOptions: ParsableArguments {
    @Argument(
        help: ArgumentHelp(
            "Audio file (WAV, FLAC, OGG/Vorbis, Opus, MP3; detected by content), or - for stdin (the default; raw PCM unless it starts like one of those files).",
            valueName: "input"))
    var input: String?

    @Option(
        help: ArgumentHelp(
            "Read INPUT or stdin as headerless PCM in this format (stdin default: s16le).",
            valueName: "format"))
    var raw: RawSampleFormat?

    @Option(help: ArgumentHelp("Sample rate of raw input, or asked of --device, in Hz (default 16000).", valueName: "hz"))
    var rate: Int?

    @Option(help: ArgumentHelp("Channels of raw input, or asked of --device (default 1).", valueName: "n"))
    var channels: Int?

    @Option(help: ArgumentHelp("Capture live from this ALSA device (default, hw:0,0, null, ...) until Ctrl-C or --duration.", valueName: "name"))
    var device: String?

    @Option(help: ArgumentHelp("Stop after this many seconds of audio.", valueName: "seconds"))
    var duration: Double?

    @Option(help: ArgumentHelp("libsamplerate converter when the rate changes (default medium).", valueName: "quality"))
    var resampleQuality: ResampleQuality?

    /// `true` when the input is stdin.
    var readsStandardInput: Bool { device == nil && (input == nil || input == "-") }

    func validate() throws {
        if device != nil, let input, input != "-" {
            throw ValidationError("give either INPUT (\(input)) or --device, not both")
        }
        if device != nil, raw != nil {
            throw ValidationError("--raw describes files and stdin; ALSA capture negotiates its own sample format, so drop --raw")
        }
        if let input, input != "-", raw == nil, rate != nil || channels != nil {
            throw ValidationError("--rate and --channels describe raw PCM, but \(input) is decoded from its header; add --raw FORMAT to read it as raw PCM")
        }
        if let duration, !(duration > 0 && duration.isFinite) {
            throw ValidationError("--duration must be a positive number of seconds, got \(duration)")
        }
    }

    /// The core request these flags and the configuration describe.
    func request(targetRate: Int?, configuration: Configuration) throws -> AudioInputRequest {
        let settings = try AudioSettings(configuration: configuration)
        let source: AudioInputRequest.Source
        if let device {
            source = .device(name: device)
        } else if let input, input != "-" {
            source = .file(path: input)
        } else {
            source = .standardInput
        }
        let layout = RawPCMLayout(
            format: raw ?? settings.raw.format,
            sampleRate: rate ?? settings.raw.sampleRate,
            channels: channels ?? settings.raw.channels)
        return AudioInputRequest(
            source: source, raw: layout, forceRaw: raw != nil, targetRate: targetRate,
            quality: resampleQuality ?? settings.quality, durationSeconds: duration,
            capturePeriodMs: settings.capturePeriodMs, captureQueueMs: settings.captureQueueMs,
            stopOnInterrupt: true)
    }

    /// Opens the input as mono float samples at `targetRate` (`nil` keeps the source rate).
    func open(targetRate: Int?, configuration: Configuration) throws -> AudioStream {
        try AudioStream.open(request(targetRate: targetRate, configuration: configuration))
    }
}
