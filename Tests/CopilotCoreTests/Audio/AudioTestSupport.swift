@testable import CopilotCore
import Foundation

/// Helpers shared by the audio tests.
enum AudioFixtures {
    /// A fresh temporary directory.
    static func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-audio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// `frames` frames of a sine at `frequency` Hz, the same in every channel but scaled per
    /// channel (1, 0.5, 0.25...), interleaved.
    static func sine(frequency: Double, rate: Int, frames: Int, channels: Int = 1, amplitude: Double = 0.5) -> [Float] {
        var out = [Float](repeating: 0, count: frames * channels)
        for i in 0..<frames {
            let v = amplitude * sin(2 * Double.pi * frequency * Double(i) / Double(rate))
            for c in 0..<channels { out[i * channels + c] = Float(v / Double(1 << c)) }
        }
        return out
    }

    /// Writes `interleaved` to a new file of `format` and returns its path.
    static func write(_ interleaved: [Float], to dir: URL, name: String, format: AudioFileFormat, rate: Int,
                      channels: Int, encoding: AudioFileEncoding = .pcm16) throws -> String {
        let path = dir.appendingPathComponent(name).path
        let writer = try AudioFileWriter(path: path, format: format, sampleRate: rate, channels: channels, encoding: encoding)
        try writer.write(interleaved)
        try writer.finish()
        return path
    }

    /// Frequency of the strongest tone in `x` (Hz), by zero crossings of the middle part.
    static func dominantFrequency(_ x: [Float], rate: Int) -> Double {
        let part = x[(x.count / 4)..<(x.count * 3 / 4)]
        var crossings = 0
        var previous = part.first ?? 0
        for v in part.dropFirst() {
            if (previous < 0) != (v < 0) { crossings += 1 }
            previous = v
        }
        return Double(crossings) / 2 / (Double(part.count) / Double(rate))
    }

    /// Reads a stream in reads of `size` samples.
    static func readInBlocks(_ stream: AudioStream, size: Int) throws -> [Float] {
        var out: [Float] = []
        var block = [Float](repeating: 0, count: size)
        while true {
            let n = try block.withUnsafeMutableBufferPointer { try stream.read(into: $0) }
            if n == 0 { return out }
            out.append(contentsOf: block[0..<n])
        }
    }

    /// The repository root (for `config/copilot.toml`).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }
}
