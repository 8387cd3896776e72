import CopilotCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Bytes from memory, handed out in chunks of a chosen size (a pipe that delivers
/// irregular pieces).
private final class MemorySource: ByteSource, @unchecked Sendable {
    let name = "memory"
    private let bytes: [UInt8]
    private let chunk: Int
    private var offset = 0

    init(_ bytes: [UInt8], chunk: Int) {
        self.bytes = bytes
        self.chunk = chunk
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, chunk, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
        offset += n
        return n
    }
}

/// Runs a stage into a temporary file and returns what it wrote.
private func runStage(_ settings: BufferSettings, input: [UInt8], chunk: Int) throws -> (output: [UInt8], report: BufferReport) {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-stage-\(UUID()).raw").path
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    #expect(fd >= 0)
    defer {
        close(fd)
        unlink(path)
    }
    let stage = try BufferStage(settings: settings, input: MemorySource(input, chunk: chunk), output: fd)
    let report = try stage.run()
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return ([UInt8](data), report)
}

@Suite struct BufferStageTests {
    @Test(arguments: [1, 7, 4096, 1 << 20])
    func passThroughIsByteExactForAnyChunking(chunk: Int) throws {
        var random = SplitMix64(seed: UInt64(chunk))
        let input = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        let settings = BufferSettings(sampleRate: 16_000, bytesPerFrame: 2, formatName: "s16le", capacityMs: 10)
        let (output, report) = try runStage(settings, input: input, chunk: chunk)
        #expect(output == input)
        #expect(report.bytesIn == input.count && report.bytesOut == input.count)
        #expect(report.statistics.overruns == 0)
    }

    @Test func framingCountMatchesTheFormula() throws {
        // rate 1000, s16 mono: frame 8 ms = 16 bytes, hop 3 ms = 6 bytes.
        for sampleCount in [0, 1, 7, 8, 9, 11, 100, 1001] {
            let input = (0..<sampleCount).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            let settings = BufferSettings(sampleRate: 1000, bytesPerFrame: 2, formatName: "s16le", frameMs: 8, hopMs: 3)
            let (output, _) = try runStage(settings, input: input, chunk: 5)
            let expected = sampleCount == 0 ? 0 : (sampleCount <= 8 ? 1 : 1 + (sampleCount - 8 + 2) / 3)
            #expect(output.count == expected * 16, "\(sampleCount) samples")
        }
    }

    @Test func settingsAreChecked() {
        let base = BufferSettings(sampleRate: 16_000, bytesPerFrame: 2, formatName: "s16le")
        var bad = base
        bad.capacityMs = 0
        #expect(throws: BufferError.self) { try bad.validate() }
        bad = base
        bad.frameMs = 10
        bad.hopMs = 11
        #expect(throws: BufferError.self) { try bad.validate() }
        bad = base
        bad.tailSeconds = -1
        #expect(throws: BufferError.self) { try bad.validate() }
        bad = base
        bad.sampleRate = 0
        #expect(throws: BufferError.self) { try bad.validate() }
        bad = BufferSettings(sampleRate: 384_000, bytesPerFrame: 256, formatName: "f32le", capacityMs: 600_000)
        #expect(throws: BufferError.self) { try bad.validate() }
        bad = BufferSettings(sampleRate: 384_000, bytesPerFrame: 256, formatName: "f32le", capacityMs: 10, tailSeconds: 3600)
        #expect(throws: BufferError.self) { try bad.validate() }
        #expect(throws: Never.self) { try base.validate() }
    }

    @Test func shippedConfigurationEqualsBuiltInDefaults() throws {
        var dir = URL(fileURLWithPath: #filePath)
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("config/copilot.toml").path) {
            dir = dir.deletingLastPathComponent()
        }
        let configuration = try Configuration(contentsOf: dir.appendingPathComponent("config/copilot.toml").path)
        #expect(try BufferDefaults(configuration: configuration) == BufferDefaults.builtIn)
        let custom = try Configuration(text: "[buffer]\ncapacity_ms = 500\npolicy = \"drop-oldest\"\n", path: "t.toml")
        #expect(try BufferDefaults(configuration: custom) == BufferDefaults(capacityMs: 500, policy: .dropOldest))
        let typo = try Configuration(text: "[buffer]\ncapacity = 5\n", path: "t.toml")
        #expect(throws: ConfigurationError.self) { try BufferDefaults(configuration: typo) }
        let badPolicy = try Configuration(text: "[buffer]\npolicy = \"sometimes\"\n", path: "t.toml")
        #expect(throws: ConfigurationError.self) { try BufferDefaults(configuration: badPolicy) }
    }
}
