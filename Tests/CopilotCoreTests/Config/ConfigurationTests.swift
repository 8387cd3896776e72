import CopilotCore
import Foundation
import Testing

@Suite struct ConfigurationTests {
    @Test func syntaxErrorNamesFileAndLine() {
        #expect {
            try Configuration(text: "[buffer]\ncapacity_ms = = 3\n", path: "x.toml")
        } throws: { error in
            guard case ConfigurationError.syntax(let path, let line, _, _) = error else { return false }
            return path == "x.toml" && line == 2
        }
    }

    @Test func rangeAndTypeAreChecked() throws {
        let config = try Configuration(text: "[s]\nn = 5000\nname = 3\n", path: "c.toml")
        let s = try config.section("s")
        #expect(throws: ConfigurationError.self) { try s.int("n", default: 1, in: 1...100) }
        #expect(throws: ConfigurationError.self) { try s.string("name", default: "x") }
        #expect(try s.int("absent", default: 7, in: 1...100) == 7)
    }

    @Test func unknownKeysAreRefused() throws {
        let config = try Configuration(text: "[s]\ntypo = 1\n", path: "c.toml")
        #expect(throws: ConfigurationError.self) { try config.section("s").checkKeys(known: ["n"]) }
        #expect(throws: ConfigurationError.self) { try config.checkSections(known: ["other"]) }
    }

    @Test func unknownSectionsAreRefusedOnLoad() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("copilot.toml").path
        try "[cahce]\nbackend = \"redis\"\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.unknownKey(path: file, key: "cahce", known: Configuration.knownSections)) {
            try Configuration.load(explicitPath: file, environment: [:])
        }
        // The shipped file names only known sections.
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("config/copilot.toml").path
        _ = try Configuration.load(explicitPath: shipped, environment: [:])
    }

    @Test func missingExplicitFileIsAnError() {
        #expect(throws: ConfigurationError.self) {
            try Configuration.load(explicitPath: "/nonexistent/copilot.toml", environment: [:])
        }
    }

    @Test func environmentFileIsUsed() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-env-\(UUID()).toml")
        try "[mel]\nthreads = 3\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let config = try Configuration.load(explicitPath: nil, environment: ["COPILOT_CONFIG": url.path])
        #expect(try config.section("mel").int("threads", default: 1, in: 1...10) == 3)
    }
}
