import CopilotCore
import Foundation
import Testing

/// What word timestamps change in the output: json "words", cues re-cut from words, and
/// segments placed back on the speech by their words.
@Suite struct WordOutputTests {
    static func segment(_ id: Int, _ words: [(String, Double, Double)]) -> WhisperSegment {
        WhisperSegment(
            id: id, start: words.first?.1 ?? 0, end: words.last?.2 ?? 0, text: words.map(\.0).joined(), tokens: words.indices.map { $0 },
            avgLogProb: -0.2, noSpeechProb: 0.1, temperature: 0, compressionRatio: 1,
            words: words.enumerated().map { WhisperWord(start: $1.1, end: $1.2, word: $1.0, probability: 0.9, tokens: [$0]) })
    }

    @Test func jsonCarriesFasterWhispersWordFields() throws {
        let r = TranscriptRenderer(format: .json)
        let text = r.header + r.render(Self.segment(0, [(" Hi", 0.5, 0.75), (" \"there\".", 0.75, 1.25)]), first: true) + r.footer(segmentCount: 1)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let segments = try #require(object?["segments"] as? [[String: Any]])
        let words = try #require(segments[0]["words"] as? [[String: Any]])
        #expect(words.count == 2)
        #expect(words[1]["word"] as? String == " \"there\"." && words[1]["start"] as? Double == 0.75 && words[1]["end"] as? Double == 1.25)
        #expect(words[0]["probability"] as? Double == 0.9)
        #expect(Set(words[0].keys) == ["start", "end", "word", "probability"])
        var plain = Self.segment(0, [(" Hi", 0.5, 0.75)])
        plain.words = nil
        #expect(!r.render(plain, first: true).contains("words"), "no words key without word timestamps")
    }

    /// With a width only, each segment stays one cue, wrapped at the width (openai-whisper).
    @Test func widthWrapsEachSegmentsCue() {
        let cutter = WordCueCutter(maxLineWidth: 12, maxLineCount: nil)
        let first = Self.segment(0, [(" One", 0, 0.5), (" two", 0.5, 1), (" three", 1, 1.5), (" four.", 1.5, 2)])
        let second = Self.segment(1, [(" Five", 5, 5.5), (" six.", 5.5, 6)])
        let cues = cutter.add(first) + cutter.add(second) + cutter.finish()
        #expect(cues == [
            SubtitleCue(start: 0, end: 2, text: "One two\nthree four."),
            SubtitleCue(start: 5, end: 6, text: "Five six."),
        ])
    }

    /// With a line count too, cues hold at most that many lines and run across segments,
    /// and a pause of more than 3 s starts a new one.
    @Test func lineCountRecutsCuesAcrossSegments() {
        let cutter = WordCueCutter(maxLineWidth: 10, maxLineCount: 2)
        var cues = cutter.add(Self.segment(0, [(" One", 0, 0.5), (" two", 0.5, 1), (" three", 1, 1.5)]))
        #expect(cues.isEmpty, "the open cue waits for more words")
        cues += cutter.add(Self.segment(1, [(" four", 1.5, 2), (" five.", 2, 2.5), (" Later.", 9, 9.5)]))
        cues += cutter.finish()
        // " four" fits the second line exactly (10 characters); " five." opens a third line,
        // so a new cue; " Later." comes 7 s after " five.".
        #expect(cues == [
            SubtitleCue(start: 0, end: 2, text: "One two\nthree four"),
            SubtitleCue(start: 2, end: 2.5, text: "five."),
            SubtitleCue(start: 9, end: 9.5, text: "Later."),
        ])
        #expect(cutter.finish().isEmpty)
        let srt = TranscriptRenderer(format: .srt).render(cues[0], number: 1)
        #expect(srt == "1\n00:00:00,000 --> 00:00:02,000\nOne two\nthree four\n\n")
        #expect(TranscriptRenderer(format: .vtt).render(cues[2], number: 3) == "00:00:09.000 --> 00:00:09.500\nLater.\n\n")
    }

    /// A segment whose words lie on two regions is cut between the words, each part on its
    /// region, each word inside its region: none spans the pause.
    @Test func wordsPlaceTheSegmentOnTheirRegions() {
        // Regions at 1-3 s and 10-12 s of the input, joined with a 1 s gap: 0-2 s and 3-5 s.
        let group = SpeechGroup(regions: [16_000..<48_000, 160_000..<192_000], joinedStarts: [0, 48_000], joinedCount: 80_000)
        let words = [" Good", " morning.", " Thank", " you."]
        var segment = Self.segment(3, [(words[0], 0.2, 0.8), (words[1], 0.8, 2.6), (words[2], 3.1, 3.6), (words[3], 3.6, 4.2)])
        segment.tokens = [50363, 0, 1, 2, 3, 50500]
        let text: ([Int]) -> String = { $0.filter { $0 < 50257 }.map { words[$0] }.joined() }
        let placed = group.place(segment, sampleRate: 16_000, text: text)
        #expect(placed.count == 2)
        #expect(placed.map(\.text) == [" Good morning.", " Thank you."])
        #expect(placed.map(\.tokens) == [[50363, 0, 1], [2, 3, 50500]])
        #expect(placed[0].words?.map(\.word).joined() == placed[0].text && placed[1].words?.map(\.word).joined() == placed[1].text)
        // " morning." ran 0.6 s into the gap: clamped to its region's end (3 s of the input).
        #expect(abs((placed[0].words?[1].end ?? 0) - 3) < 1e-9 && abs(placed[0].end - 3) < 1e-9)
        #expect(abs((placed[1].words?[0].start ?? 0) - 10.1) < 1e-9 && abs(placed[1].end - 11.2) < 1e-9)
        for piece in placed {
            let region = piece.start < 5 ? 1.0...3.0 : 10.0...12.0
            #expect(piece.words?.allSatisfy { region.contains($0.start) && region.contains($0.end) && $0.start <= $0.end } == true)
        }
        // A word of no duration where the first region's words end goes with the word after
        // it, onto the second region (seen with tiny.en: " Thank" at the end of " everyone.").
        let touching = Self.segment(3, [(words[0], 0.2, 0.8), (words[1], 0.8, 1.5), (words[2], 1.5, 1.5), (words[3], 1.5, 4.2)])
        let split = group.place(touching, sampleRate: 16_000, text: { $0.map { words[$0] }.joined() })
        #expect(split.map(\.text) == [" Good morning.", " Thank you."])
        #expect(split.count == 2 && split[1].words?.first.map { abs($0.start - 10) < 1e-9 && $0.start == $0.end } == true, "\(split)")
    }
}
