import CopilotCore
import Foundation
import Testing

@Suite struct ConsensusConfigTests {
    @Test func shippedConfigEqualsBuiltInDefaults() throws {
        let path = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/copilot.toml").path
        let configuration = try Configuration(contentsOf: path)
        #expect(configuration.sectionNames.contains("consensus"))
        #expect(try ConsensusOptions(configuration: configuration) == .defaults)
    }

    @Test func valuesAreRangeChecked() throws {
        for bad in ["threshold = 1.5", "ngram_size = 0", "mode = \"vote\"", "wieght = 1"] {
            let configuration = try Configuration(text: "[consensus]\n\(bad)\n", path: "c.toml")
            #expect(throws: ConfigurationError.self, "\(bad)") { try ConsensusOptions(configuration: configuration) }
        }
        let configuration = try Configuration(text: "[consensus]\nthreshold = 0.4\nmode = \"text\"\n", path: "c.toml")
        let options = try ConsensusOptions(configuration: configuration)
        #expect(options.threshold == 0.4 && options.mode == .text && options.ngramSize == 2)
    }
}
