import CopilotCore
import Foundation
import Testing

@Suite struct TranscriptFormatTests {
    let segment = WhisperSegment(
        id: 0, start: 3661.5, end: 3662.25, text: " Say \"hi\"\n", tokens: [50363, 383], avgLogProb: -0.25,
        noSpeechProb: 0.125, temperature: 0, compressionRatio: 1.5)

    @Test func subtitleClocks() {
        #expect(TranscriptRenderer(format: .srt).render(segment, first: true) == "1\n01:01:01,500 --> 01:01:02,250\nSay \"hi\"\n\n")
        let vtt = TranscriptRenderer(format: .vtt)
        #expect(vtt.header == "WEBVTT\n\n")
        #expect(vtt.render(segment, first: true) == "01:01:01.500 --> 01:01:02.250\nSay \"hi\"\n\n")
        #expect(TranscriptRenderer(format: .txt).render(segment, first: true) == "Say \"hi\"\n")
    }

    @Test func jsonIsValidAndComplete() throws {
        let r = TranscriptRenderer(format: .json)
        var second = segment
        second.id = 1
        let text = r.header + r.render(segment, first: true) + r.render(second, first: false) + r.footer(segmentCount: 2)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let segments = try #require(object?["segments"] as? [[String: Any]])
        #expect(segments.count == 2)
        #expect(segments[0]["text"] as? String == " Say \"hi\"\n")
        #expect(segments[0]["tokens"] as? [Int] == [50363, 383])
        #expect(segments[0]["avg_logprob"] as? Double == -0.25)
        let empty = r.header + r.footer(segmentCount: 0)
        #expect((try JSONSerialization.jsonObject(with: Data(empty.utf8)) as? [String: Any])?["segments"] as? [Any] != nil)
    }

    /// Offline jsonl: each segment is a final event, the live transcript's line format.
    @Test func jsonlIsOneFinalEventPerLine() throws {
        let r = TranscriptRenderer(format: .jsonl)
        #expect(r.header.isEmpty && r.footer(segmentCount: 1).isEmpty)
        let line = r.render(segment, first: true)
        #expect(line == "{\"type\":\"final\",\"utterance\":0,\"start\":3661.5,\"end\":3662.25,\"text\":\"Say \\\"hi\\\"\"}\n")
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(object?["text"] as? String == "Say \"hi\"")
    }

    @Test func configFileSectionEqualsBuiltInDefaults() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let config = try Configuration(contentsOf: repo.appendingPathComponent("config/copilot.toml").path)
        #expect(try TranscribeSettings(configuration: config) == TranscribeSettings())
        let bad = try Configuration(text: "[transcribe]\nformat = \"docx\"\n", path: "x.toml")
        #expect(throws: ConfigurationError.self) { try TranscribeSettings(configuration: bad) }
    }
}
