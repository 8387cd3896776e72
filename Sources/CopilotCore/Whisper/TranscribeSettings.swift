import Foundation

/// The `[transcribe]` section of the configuration, with built-in defaults (documented in
/// config/copilot.toml); `copilot transcribe`'s flags override each value.
public struct TranscribeSettings: Sendable, Equatable {
    /// Model directory; empty means the default search (see ``WhisperModel/locate``).
    public var model = ""
    /// Worker threads, 0 meaning one per CPU core.
    public var threads = 0
    /// Output format.
    public var format = TranscriptFormat.txt
    /// Beams searched at temperature 0 (1: greedy).
    public var beamSize = 1
    /// Transcribe only the speech a voice activity detector finds (``SpeechOnlyAudio``, its
    /// regions joined into 30 s windows); off: every 30 s window of the input, as faster-whisper
    /// does.
    public var vad = true
    /// Prompt each window with the previous windows' text.
    public var conditionOnPreviousText = true
    /// Temperature fallback threshold on the gzip compression ratio.
    public var compressionRatioThreshold = 2.4
    /// Temperature fallback threshold on the average log-probability.
    public var logProbThreshold = -1.0
    /// Silence threshold on the no-speech probability.
    public var noSpeechThreshold = 0.6
    /// Give each segment its words with their times (``TranscriptionOptions/wordTimestamps``).
    public var wordTimestamps = false

    /// The built-in defaults.
    public init() {}

    /// Reads `[transcribe]`, refusing unknown keys and out-of-range values.
    public init(configuration: Configuration) throws {
        let s = try configuration.section("transcribe")
        try s.checkKeys(known: [
            "model", "threads", "format", "beam_size", "vad", "condition_on_previous_text", "compression_ratio_threshold",
            "log_prob_threshold", "no_speech_threshold", "word_timestamps",
        ])
        let d = TranscribeSettings()
        model = try s.string("model", default: d.model)
        threads = try s.int("threads", default: d.threads, in: 0...256)
        format = try s.choice("format", default: d.format)
        beamSize = try s.int("beam_size", default: d.beamSize, in: 1...16)
        vad = try s.bool("vad", default: d.vad)
        conditionOnPreviousText = try s.bool("condition_on_previous_text", default: d.conditionOnPreviousText)
        compressionRatioThreshold = try s.double("compression_ratio_threshold", default: d.compressionRatioThreshold, in: 0...1000)
        logProbThreshold = try s.double("log_prob_threshold", default: d.logProbThreshold, in: -1000...0)
        noSpeechThreshold = try s.double("no_speech_threshold", default: d.noSpeechThreshold, in: 0...1)
        wordTimestamps = try s.bool("word_timestamps", default: d.wordTimestamps)
    }

    /// Threads to use: `threads`, or the number of CPU cores when 0.
    public var resolvedThreads: Int {
        threads > 0 ? threads : max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The transcription options these settings describe.
    public var transcriptionOptions: TranscriptionOptions {
        var options = TranscriptionOptions()
        options.conditionOnPreviousText = conditionOnPreviousText
        options.decoding.beamSize = beamSize
        options.decoding.compressionRatioThreshold = compressionRatioThreshold
        options.decoding.logProbThreshold = logProbThreshold
        options.decoding.noSpeechThreshold = noSpeechThreshold
        options.wordTimestamps = wordTimestamps
        return options
    }
}
