import CopilotCore
import Foundation
import Testing

@Suite struct MelSettingsTests {
    @Test func shippedConfigurationEqualsBuiltInDefaults() throws {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { root.deleteLastPathComponent() }
        let configuration = try Configuration(contentsOf: root.appendingPathComponent("config/copilot.toml").path)
        #expect(configuration.sectionNames.contains("mel"))
        #expect(try MelSettings(configuration: configuration) == .defaults)
    }

    @Test func badValuesAreRefused() throws {
        let tooMany = try Configuration(text: "[mel]\nthreads = 0\n", path: "c.toml")
        #expect(throws: ConfigurationError.self) { try MelSettings(configuration: tooMany) }
        let badFormat = try Configuration(text: "[mel]\nformat = \"wav\"\n", path: "c.toml")
        #expect(throws: ConfigurationError.self) { try MelSettings(configuration: badFormat) }
        let typo = try Configuration(text: "[mel]\nthread = 2\n", path: "c.toml")
        #expect(throws: ConfigurationError.self) { try MelSettings(configuration: typo) }
        #expect(try MelSettings(configuration: .defaults) == .defaults)
    }

    @Test func writeToMissingDirectoryNamesThePath() {
        let features = MelSpectrogram(melCount: 1, frameCount: 1, values: [0])
        #expect(throws: MelError.self) { try features.write(toFile: "/nonexistent/dir/x.npy", format: .npy) }
    }
}
