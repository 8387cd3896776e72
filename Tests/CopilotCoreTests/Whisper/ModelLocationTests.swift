@testable import CopilotCore
import Foundation
import Testing

/// Where `copilot transcribe` looks for its model when no `--model` is given.
@Suite struct ModelLocationTests {
    @Test func anInstalledBinaryFindsTheModelInstalledBesideIt() throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-prefix-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: prefix) }
        let model = prefix.appendingPathComponent("share/copilot/models/tiny.en")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: prefix.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try Data([0]).write(to: model.appendingPathComponent("model.bin"))
        let binary = prefix.appendingPathComponent("bin/copilot").path
        let found = try WhisperModel.locate(explicit: nil, configured: nil, environment: [:], executablePath: binary)
        #expect(found == model.standardizedFileURL.path)
    }

    @Test func aModelDirectoryNamedByTheEnvironmentMustExist() throws {
        let missing = "/nonexistent/copilot-model-\(UUID().uuidString)"
        #expect(throws: WhisperModelError.environmentDirectoryMissing(path: missing)) {
            _ = try WhisperModel.locate(explicit: nil, configured: nil, environment: ["COPILOT_MODEL_DIR": missing], executablePath: "/usr/bin/x")
        }
        let message = WhisperModelError.environmentDirectoryMissing(path: missing).errorDescription ?? ""
        #expect(message.contains(missing) && message.contains("unset it"))
        // --model still wins over the environment.
        #expect(try WhisperModel.locate(explicit: "/m", configured: nil, environment: ["COPILOT_MODEL_DIR": missing]) == "/m")
    }
}
