/// Ids of Whisper's special tokens for an English-only vocabulary (51864 entries):
/// `<|endoftext|>` 50256 up to the last timestamp `<|30.00|>` 51863 in 0.02 s steps.
public struct WhisperSpecialTokens: Sendable, Equatable {
    /// `<|endoftext|>`.
    public var endOfText = 50256
    /// `<|startoftranscript|>`.
    public var startOfTranscript = 50257
    /// `<|startofprev|>`: precedes the previous window's text in the prompt.
    public var startOfPrevious = 50360
    /// `<|nospeech|>`: its probability at the first step is the no-speech probability.
    public var noSpeech = 50361
    /// `<|notimestamps|>`.
    public var noTimestamps = 50362
    /// `<|0.00|>`, the first timestamp.
    public var timestampBegin = 50363
    /// Seconds per timestamp step.
    public static let secondsPerTimestamp = 0.02

    /// The English-only ids.
    public init() {}

    /// Whether `token` is a timestamp.
    @inline(__always)
    public func isTimestamp(_ token: Int) -> Bool { token >= timestampBegin }
}
