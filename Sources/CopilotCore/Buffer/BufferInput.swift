#if canImport(Glibc)
import Glibc
#endif

/// The input of `copilot buffer` and the raw layout of the bytes it yields.
///
/// Raw PCM (stdin, or a file read with `--raw`) is read as bytes, untouched, so it can pass
/// through byte for byte. Stdin follows the rule of every subcommand: without `--raw`, a
/// container's magic in its first bytes (the WAV `arecord` pipes by default) means it is
/// decoded, like a file. A file to decode, a live device, or any input when the request asks
/// for a target rate goes through ``AudioStream`` (decode, downmix, resample) and comes out
/// as s16le mono at the target rate, else the source's.
package struct BufferInput {
    /// Where the bytes come from.
    package var source: any ByteSource
    /// Their layout.
    package var layout: RawPCMLayout

    /// Opens what `request` names.
    package static func open(_ request: AudioInputRequest) throws -> BufferInput {
        let limit: (RawPCMLayout) -> Int? = { layout in
            request.durationSeconds.map { Int(($0 * Double(layout.sampleRate)).rounded()) * layout.frameBytes }
        }
        if request.targetRate != nil {
            return try decoded(request)
        }
        switch request.source {
        case .standardInput:
            try request.raw.validate(input: "stdin")
            if isatty(STDIN_FILENO) != 0 { throw AudioError.standardInputIsTerminal }
            let head = request.forceRaw ? [] : try AudioStream.readStandardInputHead()
            if AudioStream.looksEncoded(head) { return try decoded(request, standardInputHead: head) }
            return BufferInput(
                source: FileDescriptorSource(fd: STDIN_FILENO, name: "stdin", byteLimit: limit(request.raw), prefix: head), layout: request.raw)
        case .file(let path) where request.forceRaw:
            try request.raw.validate(input: path)
            return BufferInput(source: try FileDescriptorSource(path: path, byteLimit: limit(request.raw)), layout: request.raw)
        case .file, .device:
            return try decoded(request)
        }
    }

    private static func decoded(_ request: AudioInputRequest, standardInputHead: [UInt8]? = nil) throws -> BufferInput {
        let source = AudioStreamSource(stream: try AudioStream.open(request, standardInputHead: standardInputHead))
        return BufferInput(source: source, layout: RawPCMLayout(format: .s16le, sampleRate: source.sampleRate, channels: 1))
    }
}
