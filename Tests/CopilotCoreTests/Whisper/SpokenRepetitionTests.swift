import CopilotCore
import Testing

/// The rule that keeps a window whose text compresses too well at the first temperature when
/// its repeats were spoken (``Transcriber/isSpokenRepetition(_:audioEnd:compressionRatioThreshold:speechFraction:)``).
@Suite struct SpokenRepetitionTests {
    static let sentence = " Our teacher asked us to read the first chapter before Monday."
    /// The sentence three times, 3.5 s each with 0.6 s between, as tiny.en cuts it.
    static let threeCopies: [(start: Double, end: Double, text: String)] = [
        (0, 3.5, sentence), (4.1, 7.6, sentence), (8.2, 11.7, sentence),
    ]

    static func spoken(_ segments: [(start: Double, end: Double, text: String)], audioEnd: Double = 12,
                       speechFraction: (Double, Double) -> Double = { _, _ in 0.9 }) -> Bool {
        Transcriber.isSpokenRepetition(segments, audioEnd: audioEnd, compressionRatioThreshold: 2.4, speechFraction: speechFraction)
    }

    @Test func theSameSentenceSpokenThriceIsKept() throws {
        #expect(try WhisperWindowDecoder.compressionRatio(Self.threeCopies.map(\.text).joined()) > 2.4)
        #expect(Self.spoken(Self.threeCopies))
    }

    @Test func repeatsWithNoSpeechBehindThemAreALoop() {
        // Only the first copy has speech behind it.
        #expect(!Self.spoken(Self.threeCopies) { start, _ in start < 1 ? 0.9 : 0.05 })
        #expect(!Self.spoken(Self.threeCopies) { _, _ in 0 })
    }

    @Test func repeatsPastTheAudioAreALoop() {
        #expect(!Self.spoken(Self.threeCopies, audioEnd: 8))
    }

    @Test func oneSegmentOrALoopInsideASegmentIsALoop() {
        let looped = String(repeating: " the end", count: 12)
        #expect(!Self.spoken([(0, 11.7, Self.threeCopies.map(\.text).joined())]))
        #expect(!Self.spoken([(0, 3.5, Self.sentence), (3.5, 11.7, looped)]))
    }

    @Test func textFasterThanSpeechIsALoop() {
        // 62 characters in 0.5 s: four times any talker's rate.
        #expect(!Self.spoken([(0, 0.5, Self.sentence), (0.5, 1, Self.sentence), (1, 1.5, Self.sentence)]))
    }

    @Test func emptyOrZeroLengthSegmentsAreNotSpeech() {
        #expect(!Self.spoken([]))
        #expect(!Self.spoken([(0, 3.5, Self.sentence), (4, 4, Self.sentence)]))
        #expect(!Self.spoken([(0, 3.5, Self.sentence), (4, 7, " ")]))
    }
}
