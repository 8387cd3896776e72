import ArgumentParser
import CopilotCore

/// Raw PCM formats `copilot buffer` understands.
enum BufferRawFormat: String, CaseIterable, ExpressibleByArgument {
    case s16le, s32le, f32le
    var bytesPerSample: Int { self == .s16le ? 2 : 4 }
}

/// Raw PCM input of `copilot buffer`: a path or stdin, and its layout.
struct BufferInputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("Raw PCM file, or - for stdin (the default).", valueName: "input"))
    var input: String?

    @Option(help: ArgumentHelp("Raw PCM format (default s16le).", valueName: "format"))
    var raw: BufferRawFormat = .s16le

    @Option(help: ArgumentHelp("Sample rate in Hz (default 16000).", valueName: "hz"))
    var rate: Int = 16_000

    @Option(help: ArgumentHelp("Interleaved channels (default 1).", valueName: "n"))
    var channels: Int = 1

    var layout: (sampleRate: Int, bytesPerFrame: Int, formatName: String) {
        (rate, raw.bytesPerSample * max(channels, 1), raw.rawValue)
    }

    func validate() throws {
        if channels < 1 || channels > 64 { throw ValidationError("--channels must be 1...64, got \(channels)") }
    }

    func source() throws -> any ByteSource {
        if let input, input != "-" { return try FileDescriptorSource(path: input) }
        return FileDescriptorSource(fd: 0, name: "stdin")
    }
}
