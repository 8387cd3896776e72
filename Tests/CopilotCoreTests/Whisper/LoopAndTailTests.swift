import CopilotCore
import Foundation
import Testing

/// An encoder of Whisper's 30 s window whose output the scripted decoder ignores: the
/// scripted decoder's dimensions with the model's 1500 audio positions.
final class SilentEncoder: WhisperEncoding {
    let dimensions = {
        var dimensions = ScriptedDecoder(script: { _ in (0, nil) }).dimensions
        dimensions.audioContext = 1500
        return dimensions
    }()

    func encode(mel: [Float], frameCount: Int) -> [Float] { [Float](repeating: 0, count: frameCount / 2 * dimensions.width) }
}

/// What the transcriber prints of a window the whole fallback ladder could not rescue, and of
/// the last second of a speech group, with the model's tokens scripted.
@Suite struct LoopAndTailTests {
    let t0 = 50363, hello = 15496, week = 1285, stay = 16249
    static let sot = 50257
    static let words = [15496: " Hello.", 1285: " week,", 16249: " Stay."]

    /// A transcriber whose decoder answers `window(previous)` (the text tokens already
    /// printed, which prompt the window) one token at a time, at every temperature (the
    /// scripted token's logit, 40, leaves the other 51,863 no chance even at temperature 1).
    static func transcriber(_ window: @escaping (_ previous: [Int]) -> [Int]) -> Transcriber {
        let decoder = ScriptedDecoder(top: 40) { fed in
            let prompt = fed.lastIndex(of: sot)!
            let tokens = window(fed[..<prompt].filter { words[$0] != nil })
            let step = fed.count - prompt - 1
            return (step < tokens.count ? tokens[step] : 50256, nil)
        }
        let windowDecoder = WhisperWindowDecoder(decoder: decoder, suppressIds: [], suppressIdsAtBegin: [], options: WhisperDecodingOptions())
        return Transcriber(
            encoder: SilentEncoder(), windowDecoder: windowDecoder, mel: LogMelSpectrogram(), options: TranscriptionOptions(),
            detokenize: { $0.compactMap { words[$0] }.joined() })
    }

    static func texts(_ transcriber: Transcriber, seconds: Double, speechFraction: ((Double, Double) -> Double)? = nil) throws -> [String] {
        var generator = SplitMix64(seed: 3)
        let samples = (0..<Int(seconds * 16_000)).map { _ in Float(generator.nextUnit() - 0.5) * 0.1 }
        var texts: [String] = []
        try transcriber.transcribe(samples: samples, speechFraction: speechFraction) { texts.append($0.text) }
        return texts
    }

    /// "Hello." then "week," 40 times in the last 0.6 s: the text compresses 10-fold or more at
    /// every temperature, so the ladder ends on it; the loop is not printed, "Hello." is.
    @Test func aLoopTheLadderCouldNotRescueIsNotPrinted() throws {
        let loop = [t0, hello, t0 + 100, t0 + 100] + Array(repeating: week, count: 40) + [t0 + 160]
        let transcriber = Self.transcriber { _ in loop }
        let text = (loop.compactMap { Self.words[$0] }).joined()
        #expect(try WhisperWindowDecoder.compressionRatio(text) > 2.4)
        #expect(try Self.texts(transcriber, seconds: 3) == [" Hello."])
        #expect(try Self.texts(transcriber, seconds: 3) { _, _ in 1 } == [" Hello."])
    }

    /// A window that passes keeps all its segments, even one that says the same word thrice.
    @Test func aWindowThatPassesKeepsEverySegment() throws {
        let tokens = [t0, hello, t0 + 100, t0 + 100, week, week, week, t0 + 160]
        #expect(try Self.texts(Self.transcriber { _ in tokens }, seconds: 3) == [" Hello.", " week, week, week,"])
    }

    /// "Hello." closes at 2.70 s: with a detector's evidence, the 0.8 s left of a 3.5 s group
    /// are not decoded alone (where tiny.en said "Stay." after "... the next day."); 1.3 s left
    /// of a 4 s group are, and without a detector (every window, as faster-whisper) so is the tail.
    @Test func lessThanASecondLeftOfASpeechGroupIsNotDecodedAlone() throws {
        let (t0, hello, stay) = (t0, hello, stay)
        let transcriber = Self.transcriber { previous in
            previous.isEmpty ? [t0, hello, t0 + 135, t0 + 135] : [t0, stay, t0 + 30]
        }
        let speech: (Double, Double) -> Double = { _, _ in 1 }
        #expect(try Self.texts(transcriber, seconds: 3.5, speechFraction: speech) == [" Hello."])
        #expect(try Self.texts(transcriber, seconds: 4, speechFraction: speech) == [" Hello.", " Stay."])
        #expect(try Self.texts(transcriber, seconds: 3.5) == [" Hello.", " Stay."])
    }
}
