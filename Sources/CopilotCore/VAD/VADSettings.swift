import Foundation

/// What `copilot vad` prints.
public enum VADOutputFormat: String, CaseIterable, Sendable {
    /// `start end` in seconds, 3 decimals, one segment per line.
    case segments
    /// One JSON object per segment and line: `{"start":S,"end":E,"probability":P}`.
    case json
    /// Exactly `1` or `0` per line, one line per frame.
    case frames

    /// The text for one segment (`segments` and `json`), newline included.
    public func line(for segment: SpeechSegment) -> String {
        switch self {
        case .json:
            return "{\"start\":\(Self.seconds(segment.start)),\"end\":\(Self.seconds(segment.end)),\"probability\":\(Self.fixed(segment.meanProbability, 3))}\n"
        case .segments, .frames:
            return "\(Self.seconds(segment.start)) \(Self.seconds(segment.end))\n"
        }
    }

    static func seconds(_ s: Double) -> String { fixed(s, 3) }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }
}

/// `copilot vad`'s settings: the `[vad]` configuration section overridden by flags.
public struct VADSettings: Equatable, Sendable {
    /// Detector.
    public var detector: VADDetectorKind = .default
    /// Frame length in ms (10, 20 or 30); nil = 30 for `default` and the prototype's 50 ms
    /// chunk for `energy` outside `--format frames`.
    public var frameMs: Int?
    /// Aggressiveness 0 ... 3 of the default detector.
    public var aggressiveness = SpectralVADParameters.defaultAggressiveness
    /// Threshold: RMS (fraction of full scale) for `energy`, speech probability for `default`;
    /// nil = 0.01 for energy, the aggressiveness table for default.
    public var threshold: Double?
    /// Segment shaping.
    public var shaping = SegmentShaping.defaults

    /// The built-in defaults.
    public init() {}

    /// Config keys of `[vad]`.
    package static let configKeys = ["detector", "frame_ms", "aggressiveness", "threshold", "min_speech_ms", "min_silence_ms", "pad_ms"]

    /// Settings from the `[vad]` section (absent keys keep the built-in defaults).
    package init(section: ConfigurationSection) throws {
        try section.checkKeys(known: Self.configKeys)
        detector = try section.choice("detector", default: VADDetectorKind.default)
        let ms = try section.int("frame_ms", default: 0, in: 10...30)
        frameMs = ms == 0 ? nil : ms
        aggressiveness = try section.int("aggressiveness", default: aggressiveness, in: 0...3)
        let t = try section.double("threshold", default: -1, in: 0...1)
        threshold = t < 0 ? nil : t
        shaping = SegmentShaping(
            minSpeechMs: try section.int("min_speech_ms", default: shaping.minSpeechMs, in: 0...600_000),
            minSilenceMs: try section.int("min_silence_ms", default: shaping.minSilenceMs, in: 0...600_000),
            padMs: try section.int("pad_ms", default: shaping.padMs, in: 0...600_000))
    }

    /// Frame length in samples at 16 kHz for `format`.
    public func frameSamples(for format: VADOutputFormat) -> Int {
        if let frameMs { return frameMs * 16 }
        if detector == .energy && format != .frames { return EnergyVoiceDetector.prototypeChunkSamples }
        return 30 * 16
    }

    /// Checks ranges; throws `VADError` naming the flag.
    public func validate() throws {
        if let frameMs, ![10, 20, 30].contains(frameMs) { throw VADError.invalidFrameMs(frameMs) }
        guard (0...3).contains(aggressiveness) else { throw VADError.invalidAggressiveness(aggressiveness) }
        if let threshold, !(threshold.isFinite && (0...1).contains(threshold)) {
            throw VADError.invalidThreshold(name: "--threshold", value: threshold, range: 0...1)
        }
        try shaping.validate()
    }

    /// The configured detector for `format`.
    public func makeDetector(for format: VADOutputFormat) throws -> any VoiceActivityDetecting {
        try validate()
        switch detector {
        case .energy:
            return EnergyVoiceDetector(frameSamples: frameSamples(for: format), threshold: threshold ?? EnergyVoiceDetector.defaultThreshold)
        case .default:
            return try SpectralVoiceDetector(frameMs: frameSamples(for: format) / 16, aggressiveness: aggressiveness, threshold: threshold)
        }
    }
}
