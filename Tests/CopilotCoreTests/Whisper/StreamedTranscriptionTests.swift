@testable import CopilotCore
import Foundation
import Testing

/// The streamed transcription (audio read block by block, features and speech groups cut as
/// it goes) against the whole-signal path it replaces in `copilot transcribe`, on a clip longer
/// than one 30 s window: the same segments, text, tokens and times.
@Suite struct StreamedTranscriptionTests {
    /// Five sentences with pauses of 2 to 8 s: about 40 s, so both paths cross window edges.
    static func clip() throws -> [Float] {
        try SpeechTranscriptionTests.clip(
            [
                "My brother likes to cook pasta with fresh tomatoes and basil.",
                "The train to the city was delayed because of the heavy snow.",
                "We planted a small garden behind the house last spring.",
                "Our teacher asked us to read the first chapter before Monday.",
                "The museum has a new exhibition about ancient ships.",
            ], pauses: [3, 8, 2, 6]
        ).samples
    }

    static func stream(_ samples: [Float]) throws -> AudioStream {
        try AudioStream(source: MemoryFrameSource(interleaved: samples, sampleRate: 16_000, channels: 1), targetRate: 16_000)
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func everyWindowMatchesTheWholeSignalPath() throws {
        let samples = try Self.clip()
        #expect(samples.count > 35 * 16_000)
        let transcriber = try SpeechTranscriptionTests.transcriber()
        var whole: [WhisperSegment] = []
        try transcriber.transcribe(samples: samples) { whole.append($0) }
        var streamed: [WhisperSegment] = []
        let statistics = try transcriber.transcribe(stream: Self.stream(samples)) { streamed.append($0) }
        #expect(streamed == whole)
        #expect(whole.count >= 3 && (whole.last?.end ?? 0) > 30, "\(whole.map(\.text))")
        #expect(statistics.sampleCount == samples.count)
        #expect(statistics.peakHeldSeconds < 31)
    }

    @Test(.enabled(if: TestModel.directory != nil, TestModel.skipMessage))
    func speechGroupsMatchTheWholeSignalPath() throws {
        let samples = try Self.clip()
        let transcriber = try SpeechTranscriptionTests.transcriber()
        let whole = try SpeechTranscriptionTests.transcribe(samples, with: transcriber)
        var streamed: [WhisperSegment] = []
        let detector = try VADSettings().makeDetector(for: .segments)
        let statistics = try transcriber.transcribe(stream: Self.stream(samples), detector: detector) { streamed.append($0) }
        #expect(streamed == whole)
        #expect(whole.count >= 5, "\(whole.map(\.text))")
        #expect(statistics.sampleCount == samples.count)
    }
}
