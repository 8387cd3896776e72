import Foundation
import Testing

@Suite struct MelCLITests {
    /// One second of a 440 Hz tone as raw little-endian float32.
    static let toneF32: Data = {
        var data = Data()
        for i in 0..<16000 {
            let x = Float(0.5 * sin(2 * Double.pi * 440 * Double(i) / 16000))
            withUnsafeBytes(of: x.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }()

    @Test func helpShowsExamples() throws {
        let result = try CLI.run(["mel", "--help"])
        #expect(result.status == 0)
        #expect(result.out.contains("copilot mel"))
    }

    @Test func writesNpyOfRawStdin() throws {
        let result = try CLI.run(["mel", "--raw", "f32le", "--output", "-"], stdin: Self.toneF32)
        #expect(result.status == 0, "\(result.err)")
        let bytes = [UInt8](result.stdout)
        #expect(bytes.count > 10 && Array(bytes[1..<6]) == Array("NUMPY".utf8))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.contains("'shape': (80, 101)"))
        #expect(bytes.count == 10 + headerLength + 80 * 101 * 4)
    }

    @Test func rawOutputPaddedToAWindow() throws {
        let result = try CLI.run(
            ["mel", "--raw", "f32le", "--format", "f32le", "--frames", "3000"], stdin: Self.toneF32)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.stdout.count == 80 * 3000 * 4)
    }

    @Test func writesAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mel-\(UUID()).f32").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try CLI.run(["mel", "--raw", "f32le", "--format", "f32le", "--output", path], stdin: Self.toneF32)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.stdout.isEmpty)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == 80 * 101 * 4)
    }

    @Test func badFlagsAndPathsFailWithAMessage() throws {
        let zero = try CLI.run(["mel", "--raw", "f32le", "--frames", "0"], stdin: Self.toneF32)
        #expect(zero.status == 64)
        #expect(zero.err.contains("--frames"))
        let missingDir = try CLI.run(["mel", "--raw", "f32le", "--output", "/nonexistent/dir/x.npy"], stdin: Self.toneF32)
        #expect(missingDir.status == 1)
        #expect(missingDir.err.contains("/nonexistent/dir/x.npy"))
        let missingInput = try CLI.run(["mel", "/nonexistent/speech.wav"])
        #expect(missingInput.status != 0 && missingInput.status < 128)
        #expect(missingInput.err.contains("/nonexistent/speech.wav"))
    }
}
