import CopilotCore
import Foundation
import Testing

@Suite struct VADSettingsTests {
    /// config/copilot.toml's [vad] section states the built-in defaults.
    @Test func shippedConfigEqualsDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let config = try Configuration(contentsOf: root.appendingPathComponent("config/copilot.toml").path)
        let settings = try VADSettings(section: config.section("vad"))
        #expect(settings == VADSettings())
        #expect(config.sectionNames.contains("vad"))
    }

    @Test func frameLengthPerDetectorAndFormat() throws {
        var s = VADSettings()
        #expect(s.frameSamples(for: .segments) == 480)
        s.detector = .energy
        #expect(s.frameSamples(for: .segments) == 800)
        #expect(s.frameSamples(for: .frames) == 480)
        s.frameMs = 10
        #expect(s.frameSamples(for: .segments) == 160)
        s.frameMs = 40
        #expect(throws: VADError.invalidFrameMs(40)) { try s.validate() }
    }

    @Test func splitFileNames() {
        let seg = SpeechSegment(index: 3, startSample: 197_440, endSample: 200_000, meanProbability: 0.5, sampleRate: 16_000)
        #expect(seg.splitFileName == "0003_12.340.wav")
    }
}
