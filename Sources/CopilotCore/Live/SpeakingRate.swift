/// Whether a transcript could have been spoken in the time the voice detector heard speech.
///
/// People talk at 2-4 words a second (the live latency corpus: 2.8-3.8; fast speech reaches
/// 5). Whisper, handed a short burst of noise or of several voices at once (babble), writes
/// whole sentences or loops of them over a fifth of a second of "speech": on 10 minutes of
/// six-talker babble, 23 finals, most of them two or more words a fifth of a second long,
/// several looping for 20 words. A transcript with more words than `maximumWordsPerSecond`
/// times the speech's length (at least one word is always allowed, for a short "yes") is
/// not speech that was heard. The idea is the one of openai-whisper's
/// `hallucination_silence_threshold`, which flags words shorter than 0.133 s, measured on
/// the utterance instead of per word.
package enum SpeakingRate {
    /// Six words a second: above fast speech, below what Whisper writes over noise bursts.
    package static let defaultMaximumWordsPerSecond = 6.0

    /// Words of a transcript: runs of characters between spaces.
    package static func words(in text: String) -> Int {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).count
    }

    /// Whether `text` fits in `seconds` of speech at `maximumWordsPerSecond` (`nil`: always).
    package static func isPlausible(_ text: String, seconds: Double, maximumWordsPerSecond: Double?) -> Bool {
        guard let maximumWordsPerSecond else { return true }
        let count = words(in: text)
        return count <= 1 || Double(count) <= maximumWordsPerSecond * max(0, seconds)
    }
}
