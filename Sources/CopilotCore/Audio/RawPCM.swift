#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Sample encodings of headerless PCM (`--raw`), all little-endian and interleaved.
public enum RawSampleFormat: String, CaseIterable, Sendable {
    /// Signed 16-bit integers (what `arecord -f S16_LE` and most speech tools produce).
    case s16le
    /// Signed 32-bit integers.
    case s32le
    /// 32-bit IEEE floats, nominally in [-1, 1].
    case f32le

    /// Bytes of one sample of one channel.
    public var bytesPerSample: Int {
        switch self {
        case .s16le: 2
        case .s32le, .f32le: 4
        }
    }
}

/// How headerless PCM is laid out: encoding, rate and channel count.
public struct RawPCMLayout: Sendable, Equatable {
    /// Sample encoding.
    public var format: RawSampleFormat
    /// Frames per second, in Hz.
    public var sampleRate: Int
    /// Interleaved channels.
    public var channels: Int

    /// The stdin default: s16le, 16 kHz, mono.
    public static let standard = RawPCMLayout(format: .s16le, sampleRate: 16_000, channels: 1)

    /// Creates a layout.
    public init(format: RawSampleFormat, sampleRate: Int, channels: Int) {
        self.format = format
        self.sampleRate = sampleRate
        self.channels = channels
    }

    /// Bytes of one interleaved frame.
    public var frameBytes: Int { format.bytesPerSample * channels }

    /// Throws when the rate or channel count is out of range; `input` names the input.
    public func validate(input: String) throws {
        guard (1...AudioError.maximumSampleRate).contains(sampleRate) else {
            throw AudioError.invalidSampleRate(input: input, rate: sampleRate)
        }
        guard (1...AudioError.maximumChannels).contains(channels) else {
            throw AudioError.invalidChannelCount(input: input, channels: channels)
        }
    }
}

/// Reads headerless PCM from a file descriptor (stdin or a file), converting to floats.
///
/// Returns whatever whole frames one `read(2)` brings, so a live pipe (`arecord | copilot vad`)
/// is consumed as it arrives. A stream that ends inside a frame throws
/// ``AudioError/partialFrame(input:byteCount:frameBytes:)``; an empty stdin throws
/// ``AudioError/emptyStandardInput``.
package final class RawPCMReader: AudioFrameSource {
    /// Encoding, rate and channels of the bytes.
    package let layout: RawPCMLayout
    /// `stdin` or the path.
    package let inputName: String
    /// Frames per second, from the layout.
    package var sampleRate: Int { layout.sampleRate }
    /// Interleaved channels, from the layout.
    package var channels: Int { layout.channels }
    /// Frames in a regular file (its size over the frame size), `nil` for a pipe.
    package let expectedFrames: Int?
    /// `true` for a pipe, socket or terminal: reads return what has arrived, and ``stop()``
    /// ends the input (Ctrl-C on `arecord | copilot ...` finishes the output cleanly).
    package let isLive: Bool
    private let stopLock = NSLock()
    private var stopRequested = false
    private var drainedAfterStop = false
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let isStandardInput: Bool
    private var bytes: [UInt8]
    /// Bytes at the front of `bytes` not yet converted (a frame split across reads).
    private var carried: Int
    private var totalBytes = 0
    private var atEnd = false
    /// Bytes still allowed by `byteLimit`, or `nil` for no limit.
    private var bytesLeft: Int?

    /// Reads from `fd`; `prefix` holds bytes already taken from it (by content sniffing).
    /// `byteLimit` ends the input after that many bytes (a WAV data chunk's size).
    package init(fd: Int32, ownsDescriptor: Bool, name: String, layout: RawPCMLayout, isStandardInput: Bool,
                 prefix: [UInt8] = [], expectedBytes: Int? = nil, byteLimit: Int? = nil) throws {
        try layout.validate(input: name)
        self.fd = fd
        self.ownsDescriptor = ownsDescriptor
        self.inputName = name
        self.layout = layout
        self.isStandardInput = isStandardInput
        let prefix = byteLimit.map { Array(prefix.prefix($0)) } ?? prefix
        self.bytes = [UInt8](repeating: 0, count: max(1 << 16, layout.frameBytes * 2, prefix.count))
        self.expectedFrames = (byteLimit ?? expectedBytes).map { $0 / layout.frameBytes }
        self.bytesLeft = byteLimit.map { $0 - prefix.count }
        var status = stat()
        let kind = fstat(fd, &status) == 0 ? status.st_mode & S_IFMT : S_IFREG
        self.isLive = kind == S_IFIFO || kind == S_IFSOCK || kind == S_IFCHR
        let n = min(prefix.count, bytes.count)
        bytes.replaceSubrange(0..<n, with: prefix[0..<n])
        self.carried = n
        self.totalBytes = n
    }

    deinit {
        if ownsDescriptor { Glibc.close(fd) }
    }

    /// Opens the raw file at `path`.
    package static func open(path: String, layout: RawPCMLayout) throws -> RawPCMReader {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AudioError.unreadable(input: path, reason: String(cString: strerror(errno)))
        }
        var status = stat()
        if fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            Glibc.close(fd)
            throw AudioError.unreadable(input: path, reason: "it is a directory")
        }
        let size = (status.st_mode & S_IFMT) == S_IFREG ? Int(status.st_size) : nil
        return try RawPCMReader(fd: fd, ownsDescriptor: true, name: path, layout: layout, isStandardInput: false,
                                expectedBytes: size)
    }

    /// Reads the whole frames at hand (at least one unless at the end), converted to floats.
    package func readFrames(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int {
        let frameBytes = layout.frameBytes
        let wantFrames = min(buffer.count / channels, bytes.count / frameBytes)
        guard wantFrames > 0 else { return 0 }
        // Read until at least one whole frame is in hand, or the end.
        while carried < frameBytes && !atEnd {
            if isLive && !waitReadable() {
                // Stopped: what arrived is delivered; a partial frame is dropped, not an error.
                atEnd = true
                carried = 0
                return 0
            }
            var room = max(wantFrames * frameBytes, frameBytes) - carried
            if let left = bytesLeft { room = min(room, left) }
            if room <= 0 {
                atEnd = true
                break
            }
            let n = bytes.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.baseAddress.map { $0 + carried }, room)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw AudioError.readFailed(input: inputName, reason: String(cString: strerror(errno)))
            }
            if n == 0 {
                atEnd = true
            } else {
                carried += n
                totalBytes += n
                if let left = bytesLeft { bytesLeft = left - n }
            }
        }
        if atEnd && carried < frameBytes {
            if totalBytes == 0 {
                throw isStandardInput ? AudioError.emptyStandardInput : AudioError.noSamples(input: inputName)
            }
            if carried > 0 {
                throw AudioError.partialFrame(input: inputName, byteCount: totalBytes, frameBytes: frameBytes)
            }
            return 0
        }
        let frames = min(carried / frameBytes, wantFrames)
        let sampleCount = frames * channels
        bytes.withUnsafeBytes { raw in
            Self.convert(raw, format: layout.format, count: sampleCount, into: buffer)
        }
        let consumed = frames * frameBytes
        let rest = carried - consumed
        if rest > 0 {
            bytes.withUnsafeMutableBytes { raw in
                guard let base = raw.baseAddress else { return }
                base.copyMemory(from: base + consumed, byteCount: rest)
            }
        }
        carried = rest
        return frames
    }

    /// Ends a live input at the next read.
    package func stop() {
        stopLock.lock()
        stopRequested = true
        stopLock.unlock()
    }

    private var isStopRequested: Bool {
        stopLock.lock()
        defer { stopLock.unlock() }
        return stopRequested
    }

    /// Waits until `fd` has data or its end; `false` once ``stop()`` was asked (after one
    /// last read of whatever had already arrived). Polls in 100 ms steps so a stop is seen
    /// without a signal interrupting `read(2)`.
    private func waitReadable() -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            if isStopRequested {
                guard !drainedAfterStop else { return false }
                drainedAfterStop = true
                return poll(&descriptor, 1, 0) > 0
            }
            let ready = poll(&descriptor, 1, 100)
            if ready != 0 { return true }  // readable, hung up, or an error read(2) reports
        }
    }

    /// Converts `count` little-endian samples at the start of `raw` to floats.
    package static func convert(_ raw: UnsafeRawBufferPointer, format: RawSampleFormat, count: Int,
                                into out: UnsafeMutableBufferPointer<Float>) {
        switch format {
        case .s16le:
            for i in 0..<count {
                let v = Int16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))
                out[i] = Float(v) * (1.0 / 32768.0)
            }
        case .s32le:
            for i in 0..<count {
                let v = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
                out[i] = Float(v) * (1.0 / 2147483648.0)
            }
        case .f32le:
            for i in 0..<count {
                let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                out[i] = Float(bitPattern: bits)
            }
        }
    }
}

/// Writes float samples as headerless little-endian PCM (to stdout for `--out-raw`).
///
/// Floats are clamped to [-1, 1] (NaN as 0), scaled by 2^15 or 2^31 (the inverse of the
/// reader, so integer PCM round-trips exactly), rounded and clipped to the integer range.
package final class RawPCMWriter {
    /// The encoding written.
    package let format: RawSampleFormat
    private let output: FileDescriptorOutput
    private var scratch: [UInt8] = []

    /// Writes to `output` in `format`.
    package init(output: FileDescriptorOutput, format: RawSampleFormat) {
        self.output = output
        self.format = format
    }

    /// Encodes and writes `samples` (interleaved if the stream has several channels).
    package func write(_ samples: UnsafeBufferPointer<Float>) throws {
        let needed = samples.count * format.bytesPerSample
        if scratch.count < needed { scratch = [UInt8](repeating: 0, count: needed) }
        scratch.withUnsafeMutableBytes { raw in
            switch format {
            case .s16le:
                for i in 0..<samples.count {
                    let v = Int16(min(max((sanitizedSample(samples[i]) * 32768).rounded(), -32768), 32767))
                    raw.storeBytes(of: v.littleEndian, toByteOffset: i * 2, as: Int16.self)
                }
            case .s32le:
                for i in 0..<samples.count {
                    let v = Int32(min(max((Double(sanitizedSample(samples[i])) * 2147483648).rounded(), -2147483648), 2147483647))
                    raw.storeBytes(of: v.littleEndian, toByteOffset: i * 4, as: Int32.self)
                }
            case .f32le:
                for i in 0..<samples.count {
                    raw.storeBytes(of: sanitizedSample(samples[i]).bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
                }
            }
        }
        try scratch.withUnsafeBytes { raw in
            try output.write(bytes: UnsafeRawBufferPointer(rebasing: raw[0..<needed]))
        }
    }

    /// Writes out anything buffered.
    package func flush() throws {
        try output.flush()
    }
}

/// Clamps a sample to [-1, 1]: infinities and overs clip, NaN becomes silence.
@inline(__always)
package func sanitizedSample(_ x: Float) -> Float {
    if x.isNaN { return 0 }
    return x > 1 ? 1 : (x < -1 ? -1 : x)
}
