/// The `[audio]` section of `copilot.toml`: defaults of the audio input shared by every audio
/// subcommand. Flags override each value.
public struct AudioSettings: Sendable, Equatable {
    /// Layout of raw PCM on stdin or with `--raw`, and the rate/channels asked of a device.
    public var raw: RawPCMLayout
    /// libsamplerate converter used when a consumer needs another rate.
    public var quality: ResampleQuality
    /// ALSA period (one `snd_pcm_readi`), in milliseconds.
    public var capturePeriodMs: Int
    /// Audio the capture queue holds before the capture thread waits, in milliseconds.
    public var captureQueueMs: Int

    /// The built-in defaults, which `config/copilot.toml` documents.
    public static let defaults = AudioSettings(
        raw: .standard, quality: .standard, capturePeriodMs: 20, captureQueueMs: 10_000)

    /// Keys of the section, for `checkKeys`.
    public static let keys = [
        "raw_format", "raw_rate", "raw_channels", "resample_quality", "capture_period_ms", "capture_queue_ms",
    ]

    /// Creates settings.
    public init(raw: RawPCMLayout, quality: ResampleQuality, capturePeriodMs: Int, captureQueueMs: Int) {
        self.raw = raw
        self.quality = quality
        self.capturePeriodMs = capturePeriodMs
        self.captureQueueMs = captureQueueMs
    }

    /// Reads the `[audio]` section; absent keys take the built-in defaults, unknown keys and
    /// out-of-range values are errors naming the file and key.
    public init(configuration: Configuration) throws {
        let section = try configuration.section("audio")
        try section.checkKeys(known: Self.keys)
        let d = Self.defaults
        self.raw = RawPCMLayout(
            format: try section.choice("raw_format", default: d.raw.format),
            sampleRate: try section.int("raw_rate", default: d.raw.sampleRate, in: 1...AudioError.maximumSampleRate),
            channels: try section.int("raw_channels", default: d.raw.channels, in: 1...AudioError.maximumChannels))
        self.quality = try section.choice("resample_quality", default: d.quality)
        self.capturePeriodMs = try section.int("capture_period_ms", default: d.capturePeriodMs, in: 1...1000)
        self.captureQueueMs = try section.int("capture_queue_ms", default: d.captureQueueMs, in: 100...600_000)
    }
}

/// Where ``AudioStream/drain(into:)`` delivers mono samples: a file writer or raw PCM on stdout.
package protocol AudioSink: AnyObject {
    /// Appends samples.
    func write(_ samples: UnsafeBufferPointer<Float>) throws
    /// Pushes buffered output out now (after each block of a live input).
    func flush() throws
    /// Completes the output (renames a file into place, flushes a pipe).
    func finish() throws
}

extension AudioFileWriter {
    /// Files are complete only at ``finish()``; nothing to push early.
    public func flush() throws {}
}

extension AudioFileWriter: AudioSink {}

extension RawPCMWriter: AudioSink {
    /// Flushes what is buffered.
    package func finish() throws { try flush() }
}

extension AudioStream {
    /// Copies the whole stream into `sink` block by block, then finishes it. Returns the
    /// number of samples written. Memory stays at one block; with a live input each block
    /// is flushed as it arrives.
    @discardableResult
    package func drain(into sink: AudioSink, blockSamples: Int = 1 << 14) throws -> Int {
        var block = [Float](repeating: 0, count: max(1, blockSamples))
        var total = 0
        while true {
            let n = try block.withUnsafeMutableBufferPointer { try read(into: $0) }
            if n == 0 { break }
            try block.withUnsafeBufferPointer { try sink.write(UnsafeBufferPointer(rebasing: $0[0..<n])) }
            if isLive { try sink.flush() }
            total += n
        }
        try sink.finish()
        return total
    }
}
