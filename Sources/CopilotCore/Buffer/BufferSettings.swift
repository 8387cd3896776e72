import Foundation

/// What `copilot buffer` does with the stream, in audio terms (milliseconds, seconds); the
/// stage turns them into bytes with the raw format's sample-frame size.
public struct BufferSettings: Sendable, Equatable {
    /// Sample frames per second of the raw stream.
    public var sampleRate: Int
    /// Bytes of one sample frame (bytes per sample times channels).
    public var bytesPerFrame: Int
    /// Name of the raw format for messages, e.g. `s16le`.
    public var formatName: String
    /// Ring capacity in milliseconds of audio (rounded up to a power of two bytes).
    public var capacityMs: Int
    /// Full-ring policy.
    public var policy: RingFullPolicy
    /// Re-framing: output frames of this many milliseconds (nil = pass-through).
    public var frameMs: Int?
    /// Re-framing: a frame starts this many milliseconds after the previous one (default
    /// `frameMs`, no overlap); less than `frameMs` overlaps frames.
    public var hopMs: Int?
    /// Pre-roll: keep only the last this many seconds, written at the end of the input and
    /// on each ``BufferStage/requestDump()`` (SIGUSR1).
    public var tailSeconds: Double?

    /// Built-in defaults of the `[buffer]` section.
    public static let defaultCapacityMs = 2000
    /// Built-in default policy.
    public static let defaultPolicy = RingFullPolicy.block
    /// Largest ring, frame pair or tail, in bytes: memory is allocated (and touched) up front.
    public static let maximumBufferBytes = 1 << 30

    /// Creates settings; ``validated()`` checks them.
    public init(
        sampleRate: Int, bytesPerFrame: Int, formatName: String, capacityMs: Int = defaultCapacityMs,
        policy: RingFullPolicy = defaultPolicy, frameMs: Int? = nil, hopMs: Int? = nil, tailSeconds: Double? = nil
    ) {
        self.sampleRate = sampleRate
        self.bytesPerFrame = bytesPerFrame
        self.formatName = formatName
        self.capacityMs = capacityMs
        self.policy = policy
        self.frameMs = frameMs
        self.hopMs = hopMs
        self.tailSeconds = tailSeconds
    }

    /// Sample frames in `milliseconds`, at least one.
    func sampleFrames(milliseconds: Int) -> Int {
        max(1, Int((Double(milliseconds) * Double(sampleRate) / 1000).rounded()))
    }

    /// `--frame-ms` and `--hop-ms` in bytes of whole sample frames (the hop at most the frame);
    /// nil without `--frame-ms`.
    public var framingBytes: (frame: Int, hop: Int)? {
        guard let frameMs else { return nil }
        let frame = sampleFrames(milliseconds: frameMs) * bytesPerFrame
        return (frame, min(frame, sampleFrames(milliseconds: hopMs ?? frameMs) * bytesPerFrame))
    }

    /// The ring's bytes for `--capacity-ms`, at least two frames when re-framing.
    public var capacityBytes: Int {
        max(sampleFrames(milliseconds: capacityMs) * bytesPerFrame, 2 * (framingBytes?.frame ?? 0))
    }

    /// `--tail SECONDS` in bytes of whole sample frames, and the 20 ms blocks it is kept in.
    public func tailBytes(seconds: Double) -> (tail: Int, block: Int) {
        (max(bytesPerFrame, Int((seconds * Double(sampleRate)).rounded()) * bytesPerFrame),
         max(bytesPerFrame, sampleFrames(milliseconds: 20) * bytesPerFrame))
    }

    /// Throws ``BufferError/invalidSetting(name:value:expected:)`` for values out of range.
    public func validate() throws {
        guard (1...768_000).contains(sampleRate) else {
            throw BufferError.invalidSetting(name: "--rate", value: "\(sampleRate)", expected: "1...768000 Hz")
        }
        guard (1...1024).contains(bytesPerFrame) else {
            throw BufferError.invalidSetting(name: "sample frame size", value: "\(bytesPerFrame)", expected: "1...1024 bytes")
        }
        guard (1...600_000).contains(capacityMs) else {
            throw BufferError.invalidSetting(name: "--capacity-ms", value: "\(capacityMs)", expected: "1...600000")
        }
        if let frameMs, !(1...60_000).contains(frameMs) {
            throw BufferError.invalidSetting(name: "--frame-ms", value: "\(frameMs)", expected: "1...60000")
        }
        if let hopMs {
            guard let frameMs else {
                throw BufferError.invalidSetting(name: "--hop-ms", value: "\(hopMs)", expected: "it only with --frame-ms")
            }
            guard (1...frameMs).contains(hopMs) else {
                throw BufferError.invalidSetting(name: "--hop-ms", value: "\(hopMs)", expected: "1...\(frameMs) (at most --frame-ms)")
            }
        }
        let bytesPerMs = Double(bytesPerFrame) * Double(sampleRate) / 1000
        let limitMs = Int(Double(Self.maximumBufferBytes) / bytesPerMs)
        guard Double(capacityMs) * bytesPerMs <= Double(Self.maximumBufferBytes) else {
            throw BufferError.invalidSetting(
                name: "--capacity-ms", value: "\(capacityMs)", expected: "at most \(limitMs) ms at this rate and format (1 GiB)")
        }
        if let frameMs, Double(2 * frameMs) * bytesPerMs > Double(Self.maximumBufferBytes) {
            throw BufferError.invalidSetting(
                name: "--frame-ms", value: "\(frameMs)", expected: "at most \(limitMs / 2) ms at this rate and format")
        }
        if let tailSeconds {
            guard tailSeconds > 0 && tailSeconds <= 3600 else {
                throw BufferError.invalidSetting(name: "--tail", value: "\(tailSeconds)", expected: "a number of seconds in (0, 3600]")
            }
            guard frameMs == nil else {
                throw BufferError.invalidSetting(name: "--tail", value: "with --frame-ms", expected: "one of --tail or --frame-ms")
            }
            guard tailSeconds * 1000 * bytesPerMs <= Double(Self.maximumBufferBytes) else {
                throw BufferError.invalidSetting(
                    name: "--tail", value: "\(tailSeconds)", expected: "at most \(limitMs / 1000) s at this rate and format (1 GiB)")
            }
        }
    }
}

/// The `[buffer]` section of the configuration: the defaults that flags override.
public struct BufferDefaults: Sendable, Equatable {
    /// `capacity_ms`: ring capacity in milliseconds of audio.
    public var capacityMs: Int
    /// `policy`: `block` or `drop-oldest`.
    public var policy: RingFullPolicy

    /// The built-in defaults (what `config/copilot.toml` documents).
    public static let builtIn = BufferDefaults(capacityMs: BufferSettings.defaultCapacityMs, policy: BufferSettings.defaultPolicy)

    /// Creates defaults.
    public init(capacityMs: Int, policy: RingFullPolicy) {
        self.capacityMs = capacityMs
        self.policy = policy
    }

    /// Reads the `[buffer]` section, refusing unknown keys and out-of-range values.
    public init(configuration: Configuration) throws {
        let section = try configuration.section("buffer")
        try section.checkKeys(known: ["capacity_ms", "policy"])
        self.init(
            capacityMs: try section.int("capacity_ms", default: Self.builtIn.capacityMs, in: 1...600_000),
            policy: try section.choice("policy", default: Self.builtIn.policy))
    }
}
