import Foundation

/// What to open and how to deliver it: the core of `AudioInputOptions`, free of the CLI.
public struct AudioInputRequest: Sendable {
    /// Where the audio comes from.
    public enum Source: Sendable, Equatable {
        /// A file: decoded by content, or raw PCM when `forceRaw` is set.
        case file(path: String)
        /// Standard input: raw PCM unless it starts like a WAV/FLAC/OGG/MP3 file.
        case standardInput
        /// Live capture from an ALSA PCM device.
        case device(name: String)
    }

    /// Where the audio comes from.
    public var source: Source
    /// Layout of raw PCM (stdin, `--raw` files) and the rate/channels asked of a device.
    public var raw: RawPCMLayout
    /// Treat a file or stdin as raw PCM even if it looks like an encoded file (`--raw` given).
    public var forceRaw: Bool
    /// Rate the consumer needs, in Hz; `nil` keeps the source's rate.
    public var targetRate: Int?
    /// libsamplerate converter used when the rates differ.
    public var quality: ResampleQuality
    /// Stop after this many seconds of input (`--duration`); `nil` reads to the end.
    public var durationSeconds: Double?
    /// ALSA period, in milliseconds.
    public var capturePeriodMs: Int
    /// Audio the capture queue holds before the capture thread waits, in milliseconds.
    public var captureQueueMs: Int
    /// Install a SIGINT handler that ends a live input (a capture, or raw PCM from a pipe)
    /// cleanly: the consumer still gets the audio so far and finishes its output; a second
    /// Ctrl-C kills the process as usual.
    public var stopOnInterrupt: Bool

    /// Creates a request; defaults match `config/copilot.toml`'s `[audio]` section.
    public init(
        source: Source, raw: RawPCMLayout = .standard, forceRaw: Bool = false, targetRate: Int? = nil,
        quality: ResampleQuality = .standard, durationSeconds: Double? = nil, capturePeriodMs: Int = 20,
        captureQueueMs: Int = 10_000, stopOnInterrupt: Bool = false
    ) {
        self.source = source
        self.raw = raw
        self.forceRaw = forceRaw
        self.targetRate = targetRate
        self.quality = quality
        self.durationSeconds = durationSeconds
        self.capturePeriodMs = capturePeriodMs
        self.captureQueueMs = captureQueueMs
        self.stopOnInterrupt = stopOnInterrupt
    }
}

/// Mono float audio at the rate a consumer needs, pulled block by block from a file, raw PCM
/// or a live ALSA capture.
///
/// Each block is downmixed to mono (the mean of the channels), cleaned (NaN becomes 0,
/// infinities and values beyond full scale clip to ±1) and, when the source rate differs from
/// the target, resampled by ``StreamingResampler`` (half-band decimation, then libsamplerate)
/// with its state carried across blocks, to exactly `round(frames * target / source)` samples.
/// Files are decoded a few blocks ahead on their own thread. Memory stays at a few blocks
/// however long the input; only ``readAll()`` holds the whole signal.
///
/// Not thread-safe: one consumer thread reads; ``stop()`` may be called from any thread.
public final class AudioStream: CustomStringConvertible {
    /// Samples per second delivered by ``read(into:)``, in Hz.
    public let sampleRate: Int
    /// The source's own rate, in Hz.
    public let sourceSampleRate: Int
    /// The source's channel count (before the downmix).
    public let sourceChannels: Int
    /// Names the input for messages: a path, `stdin` or `ALSA device NAME`.
    public var description: String { source.inputName }
    /// `true` when audio arrives in real time (a capture or a pipe): ``read(into:)`` then
    /// returns what has arrived rather than waiting to fill the buffer, and a consumer should
    /// flush its output as it goes.
    public var isLive: Bool { source.isLive }
    /// Samples the whole input will give at ``sampleRate``, when the source announces its
    /// length (a file header) and no `durationSeconds` cuts it; `nil` otherwise. For progress.
    public var expectedSampleCount: Int? {
        guard let frames = source.expectedFrames, framesLeft == nil else { return nil }
        return Int((Double(frames) * Double(sampleRate) / Double(sourceSampleRate)).rounded())
    }
    /// Overruns the source counted (a capture that fell behind the device), 0 for files.
    public var sourceOverruns: Int { source.overruns }

    private let source: AudioFrameSource
    private let converter: StreamingResampler?
    private let blockFrames: Int
    private var interleaved: [Float]
    private var mono: [Float]
    private var pending: [Float] = []
    private var pendingOffset = 0
    private var framesLeft: Int?
    private var sourceFrames = 0
    private var ended = false
    private var interruptSource: DispatchSourceSignal?

    /// Wraps `source`, delivering mono at `targetRate` (`nil` keeps the source rate).
    package init(source: AudioFrameSource, targetRate: Int?, quality: ResampleQuality = .standard,
                 durationSeconds: Double? = nil, blockFrames: Int = 4096) throws {
        self.source = source
        self.sourceSampleRate = source.sampleRate
        self.sourceChannels = source.channels
        let rate = targetRate ?? source.sampleRate
        guard (1...AudioError.maximumSampleRate).contains(rate) else {
            throw AudioError.invalidTargetRate(rate: rate)
        }
        self.sampleRate = rate
        self.converter = rate == source.sampleRate
            ? nil
            : try StreamingResampler(quality: quality, inputRate: source.sampleRate, outputRate: rate)
        self.blockFrames = max(1, blockFrames)
        self.interleaved = [Float](repeating: 0, count: self.blockFrames * source.channels)
        self.mono = [Float](repeating: 0, count: self.blockFrames)
        // Any positive duration reads at least one frame.
        self.framesLeft = durationSeconds.map { $0 > 0 ? max(1, Int(($0 * Double(source.sampleRate)).rounded())) : 0 }
        pending.reserveCapacity(self.blockFrames * 2 + 64)
    }

    deinit {
        releaseInterrupt()
        source.stop()
    }

    /// Gives Ctrl-C back its default meaning once the input is over, so a consumer that
    /// works on after reading (a transcription) can still be interrupted.
    private func releaseInterrupt() {
        guard let interruptSource else { return }
        interruptSource.cancel()
        self.interruptSource = nil
        signal(SIGINT, SIG_DFL)
    }

    /// Opens the input a request names.
    /// `standardInputHead`: stdin's first bytes when the caller has read them already
    /// (``readStandardInputHead()``), so they are not lost.
    public static func open(_ request: AudioInputRequest, standardInputHead: [UInt8]? = nil) throws -> AudioStream {
        let frameSource: AudioFrameSource
        switch request.source {
        case .file(let path):
            let file: AudioFrameSource = request.forceRaw
                ? try RawPCMReader.open(path: path, layout: request.raw)
                : try AudioFileDecoder.open(path: path)
            // A named pipe given as a path stays live; only real files are decoded ahead.
            frameSource = file.isLive ? file : ReadAheadSource(file)
        case .standardInput:
            frameSource = try openStandardInput(request, head: standardInputHead)
        case .device(let name):
            frameSource = try ALSACapture(
                device: name, sampleRate: request.raw.sampleRate, channels: request.raw.channels,
                periodMs: request.capturePeriodMs, queueMs: request.captureQueueMs,
                maximumSeconds: request.durationSeconds)
        }
        let stream = try AudioStream(
            source: frameSource, targetRate: request.targetRate, quality: request.quality,
            durationSeconds: request.durationSeconds)
        if request.stopOnInterrupt && frameSource.isLive {
            stream.stopOnInterrupt()
        }
        return stream
    }

    /// Stdin is raw PCM, unless (without `--raw`) its first bytes are a known container's
    /// magic or MPEG audio frames. A PCM WAV stream (what `arecord` pipes by default) is
    /// streamed live after its header; any other file is read into memory whole and decoded
    /// (MPEG audio by libmpg123, the rest by libsndfile).
    private static func openStandardInput(_ request: AudioInputRequest, head given: [UInt8]?) throws -> AudioFrameSource {
        let name = "stdin"
        if isatty(STDIN_FILENO) != 0 {
            throw AudioError.standardInputIsTerminal
        }
        // With --raw nothing is sniffed; bytes a caller already read go first either way.
        let head = try given ?? (request.forceRaw ? [] : readStandardInputHead())
        guard !request.forceRaw, looksEncoded(head) else {
            return try RawPCMReader(fd: STDIN_FILENO, ownsDescriptor: false, name: name, layout: request.raw,
                                    isStandardInput: true, prefix: head)
        }
        var bytes = head
        if head.starts(with: Array("RIFF".utf8)) {
            switch try WAVStreamHeader.read(fd: STDIN_FILENO, prefix: head, name: name) {
            case .streamable(let header, let remainder):
                return try RawPCMReader(fd: STDIN_FILENO, ownsDescriptor: false, name: name, layout: header.layout,
                                        isStandardInput: true, prefix: remainder, byteLimit: header.dataBytes)
            case .notStreamable(let consumed):
                bytes = consumed
            }
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AudioError.readFailed(input: name, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return try AudioFileDecoder.open(bytes: bytes, name: name)
    }

    /// Stdin's first bytes: 12 (enough for every magic ``looksEncoded(_:)`` knows), or, when
    /// they start with an MPEG audio frame header, the whole first frame and the next header
    /// (an MP3 without an ID3 tag has no other mark); fewer only when the input is shorter.
    static func readStandardInputHead() throws -> [UInt8] {
        var head = try readStandardInput(upTo: 12, after: [])
        if head.count == 12 {
            head = try readStandardInput(upTo: MPEGAudioFrameHeader.bytesNeeded(toRecognise: head), after: head)
        }
        return head
    }

    /// `prefix` and then stdin's next bytes, `count` in all (fewer only at the end of input).
    private static func readStandardInput(upTo count: Int, after prefix: [UInt8]) throws -> [UInt8] {
        var bytes = prefix + [UInt8](repeating: 0, count: max(0, count - prefix.count))
        var got = prefix.count
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { raw in
                Glibc.read(STDIN_FILENO, raw.baseAddress.map { $0 + got }, raw.count - got)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw AudioError.readFailed(input: "stdin", reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            got += n
        }
        bytes.removeSubrange(got...)
        return bytes
    }

    /// `true` when `head` (as ``readStandardInputHead()`` returns it) starts like a WAV, AIFF,
    /// FLAC, OGG or MP3 file: an ID3 tag, or MPEG audio frames (two consecutive headers).
    static func looksEncoded(_ head: [UInt8]) -> Bool {
        func starts(_ magic: String) -> Bool { head.starts(with: Array(magic.utf8)) }
        return starts("RIFF") || starts("RIFX") || starts("RF64") || starts("FORM") || starts("fLaC")
            || starts("OggS") || starts("ID3") || MPEGAudioFrameHeader.startsStream(head)
    }

    /// Ends a live input cleanly: later reads return what had arrived, then 0. Files are
    /// unaffected (their end comes from the data).
    public func stop() {
        source.stop()
    }

    /// Installs a SIGINT handler that calls ``stop()``; a second SIGINT kills the process, and
    /// the default returns when the input ends.
    public func stopOnInterrupt() {
        guard interruptSource == nil else { return }
        signal(SIGINT, SIG_IGN)
        let signalSource = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let target = StopTarget(source)
        signalSource.setEventHandler {
            target.stop()
            signal(SIGINT, SIG_DFL)
        }
        signalSource.resume()
        interruptSource = signalSource
    }

    /// Fills `buffer` with up to `buffer.count` mono samples; returns how many, 0 at the end.
    /// A live source may return fewer than asked before the end.
    public func read(into buffer: UnsafeMutableBufferPointer<Float>) throws -> Int {
        guard let out = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var written = 0
        while written < buffer.count {
            let available = pending.count - pendingOffset
            if available > 0 {
                let n = min(available, buffer.count - written)
                pending.withUnsafeBufferPointer { p in
                    if let base = p.baseAddress { (out + written).update(from: base + pendingOffset, count: n) }
                }
                pendingOffset += n
                written += n
                continue
            }
            if ended { break }
            // A live source hands out what it has; do not wait for a full buffer.
            if written > 0 && source.isLive { break }
            try pullBlock()
        }
        return written
    }

    /// Reads everything left into one array.
    public func readAll() throws -> [Float] {
        var all: [Float] = []
        if let expected = source.expectedFrames {
            let frames = min(expected, framesLeft ?? expected)
            all.reserveCapacity(Int(Double(frames) * Double(sampleRate) / Double(sourceSampleRate)) + 1024)
        }
        var chunk = [Float](repeating: 0, count: 1 << 15)
        while true {
            let n = try chunk.withUnsafeMutableBufferPointer { try read(into: $0) }
            if n == 0 { break }
            all.append(contentsOf: chunk[0..<n])
        }
        return all
    }

    /// Pulls one block from the source into `pending`, downmixed, cleaned and resampled.
    private func pullBlock() throws {
        pending.removeAll(keepingCapacity: true)
        pendingOffset = 0
        let channels = source.channels
        var wantFrames = blockFrames
        if let framesLeft { wantFrames = min(wantFrames, framesLeft) }
        var frames = 0
        if wantFrames > 0 {
            frames = try interleaved.withUnsafeMutableBufferPointer { buffer in
                try source.readFrames(into: UnsafeMutableBufferPointer(rebasing: buffer[0..<(wantFrames * channels)]))
            }
        } else {
            source.stop()
        }
        if frames == 0 {
            if sourceFrames == 0 && !source.isLive {
                throw AudioError.noSamples(input: source.inputName)
            }
            ended = true
            releaseInterrupt()
            try converter?.process(UnsafeBufferPointer(start: nil, count: 0), endOfInput: true, appendingTo: &pending)
            Self.clampResampled(&pending)
            return
        }
        sourceFrames += frames
        if let left = framesLeft { framesLeft = left - frames }
        interleaved.withUnsafeBufferPointer { inp in
            mono.withUnsafeMutableBufferPointer { out in
                Self.downmix(inp, channels: channels, frames: frames, into: out)
            }
        }
        try mono.withUnsafeBufferPointer { block in
            let slice = UnsafeBufferPointer(rebasing: block[0..<frames])
            if let converter {
                try converter.process(slice, endOfInput: false, appendingTo: &pending)
                Self.clampResampled(&pending)
            } else {
                pending.append(contentsOf: slice)
            }
        }
    }

    /// The sinc filter rings past full scale next to clipped input (a few percent); the
    /// contract is [-1, 1], so the output is clipped again.
    private static func clampResampled(_ samples: inout [Float]) {
        samples.withUnsafeMutableBufferPointer { s in
            for i in s.indices { s[i] = sanitizedSample(s[i]) }
        }
    }

    /// Mean of the channels per frame, each sample cleaned with ``sanitizedSample(_:)``.
    package static func downmix(_ input: UnsafeBufferPointer<Float>, channels: Int, frames: Int,
                                into output: UnsafeMutableBufferPointer<Float>) {
        if channels == 1 {
            for i in 0..<frames { output[i] = sanitizedSample(input[i]) }
            return
        }
        if channels == 2 {
            for i in 0..<frames {
                output[i] = (sanitizedSample(input[2 * i]) + sanitizedSample(input[2 * i + 1])) * 0.5
            }
            return
        }
        let scale = 1 / Float(channels)
        for i in 0..<frames {
            var sum: Float = 0
            for c in 0..<channels { sum += sanitizedSample(input[i * channels + c]) }
            output[i] = sum * scale
        }
    }
}

/// Lets the signal handler reach the source without capturing the stream.
private final class StopTarget: @unchecked Sendable {
    private let source: AudioFrameSource
    init(_ source: AudioFrameSource) { self.source = source }
    func stop() { source.stop() }
}
