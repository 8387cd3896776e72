import CopilotCore
import Foundation
import Testing

/// Where the tiny.en model is for tests: `$COPILOT_MODEL_DIR`, else `models/tiny.en` in the
/// repository (`make model` puts it there; CI runs it). nil when absent (tests then skip).
enum TestModel {
    static var directory: URL? {
        if let env = ProcessInfo.processInfo.environment["COPILOT_MODEL_DIR"], !env.isEmpty {
            let url = URL(fileURLWithPath: env)
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("model.bin").path) { return url }
        }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let url = repo.appendingPathComponent("models/tiny.en")
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("model.bin").path) ? url : nil
    }

    static let skipMessage: Comment = "models/tiny.en is absent: run `make model` to enable the real-model tests"

    /// The loaded weights, shared by every test (loading takes a fraction of a second).
    nonisolated(unsafe) static var cached: WhisperWeights?
    static let lock = NSLock()
    static func weights() throws -> WhisperWeights? {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        guard let dir = directory else { return nil }
        let w = try WhisperWeights.load(from: ModelFile(path: dir.appendingPathComponent("model.bin").path))
        cached = w
        return w
    }
}

/// A small Whisper of the tiny architecture with seeded random weights, for differential tests.
enum RandomWhisper {
    static func weights(
        width d: Int = 64, heads: Int = 2, encoderLayers: Int = 1, decoderLayers: Int = 1, mels: Int = 8,
        audioContext: Int = 100, textContext: Int = 32, vocabulary: Int = 300, seed: UInt64 = 7
    ) -> WhisperWeights {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> Float {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(Double(state >> 11) / Double(1 << 53)) * 2 - 1
        }
        func random(_ n: Int, scale: Float) -> [Float] { (0..<n).map { _ in next() * scale } }
        let f = 4 * d
        func linear(_ out: Int, _ inCount: Int) -> WhisperLinear {
            WhisperLinear(weight: random(out * inCount, scale: 1 / Float(inCount).squareRoot()), bias: random(out, scale: 0.1), outCount: out, inCount: inCount)
        }
        func norm() -> WhisperLayerNorm {
            WhisperLayerNorm(gamma: random(d, scale: 0.2).map { 1 + $0 }, beta: random(d, scale: 0.1))
        }
        let dims = WhisperDimensions(
            melCount: mels, audioContext: audioContext, width: d, headCount: heads, encoderLayerCount: encoderLayers,
            decoderLayerCount: decoderLayers, ffnWidth: f, vocabularySize: vocabulary, textContext: textContext)
        let enc = (0..<encoderLayers).map { _ in
            WhisperEncoderLayer(
                attentionNorm: norm(), qkv: linear(3 * d, d), attentionOut: linear(d, d), ffnNorm: norm(),
                ffnIn: linear(f, d), ffnOut: linear(d, f))
        }
        let dec = (0..<decoderLayers).map { _ in
            WhisperDecoderLayer(
                selfNorm: norm(), selfQKV: linear(3 * d, d), selfOut: linear(d, d), crossNorm: norm(),
                crossQuery: linear(d, d), crossKV: linear(2 * d, d), crossOut: linear(d, d), ffnNorm: norm(),
                ffnIn: linear(f, d), ffnOut: linear(d, f))
        }
        return WhisperWeights(
            dimensions: dims, conv1Weight: random(d * mels * 3, scale: 0.3), conv1Bias: random(d, scale: 0.1),
            conv2Weight: random(d * d * 3, scale: 0.1), conv2Bias: random(d, scale: 0.1),
            encoderPositions: random(audioContext * d, scale: 0.5), encoderLayers: enc, encoderNorm: norm(),
            tokenEmbedding: WhisperEmbedding(floats: random(vocabulary * d, scale: 0.5), vocabularySize: vocabulary, width: d), decoderPositions: random(textContext * d, scale: 0.2),
            decoderLayers: dec, decoderNorm: norm())
    }

    /// `weights` with the token embedding rounded to float16 and kept as float16.
    static func withHalfEmbedding(_ w: WhisperWeights) -> WhisperWeights {
        let dims = w.dimensions
        var halves = [UInt16](repeating: 0, count: dims.vocabularySize * dims.width)
        for v in 0..<dims.vocabularySize { for c in 0..<dims.width { halves[v * dims.width + c] = Float16(w.tokenEmbedding[v, c]).bitPattern } }
        return WhisperWeights(
            dimensions: dims, conv1Weight: w.conv1Weight, conv1Bias: w.conv1Bias, conv2Weight: w.conv2Weight,
            conv2Bias: w.conv2Bias, encoderPositions: w.encoderPositions, encoderLayers: w.encoderLayers,
            encoderNorm: w.encoderNorm, tokenEmbedding: WhisperEmbedding(halves: halves, vocabularySize: dims.vocabularySize, width: dims.width),
            decoderPositions: w.decoderPositions, decoderLayers: w.decoderLayers, decoderNorm: w.decoderNorm)
    }

    /// Seeded pseudo-random log-mel-like input in [-1, 1.5].
    static func mel(_ count: Int, seed: UInt64 = 3) -> [Float] {
        var state = seed &* 0x2545_F491_4F6C_DD1D | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(Double(state >> 11) / Double(1 << 53)) * 2.5 - 1
        }
    }

    /// max |a - b| / max |b|.
    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        var diff: Float = 0, scale: Float = 0
        for i in 0..<min(a.count, b.count) {
            diff = max(diff, abs(a[i] - b[i]))
            scale = max(scale, abs(b[i]))
        }
        return a.count == b.count ? diff / max(scale, 1e-30) : .infinity
    }
}

/// Speech clips synthesised at test time with Tests/Fixtures/make_speech.sh (espeak-ng, sox).
enum SpeechClip {
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Writes a 16 kHz mono WAV of `sentences` (with `pause` seconds between) and returns its path.
    static func make(_ sentences: [String], pause: Double = 0) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("copilot-speech-\(UUID()).wav").path
        let process = Process()
        process.executableURL = repository.appendingPathComponent("Tests/Fixtures/make_speech.sh")
        process.arguments = (pause > 0 ? ["--pause", String(pause)] : []) + [path] + sentences
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        return path
    }

    /// The samples of a 16-bit PCM mono WAV as floats in [-1, 1).
    static func samples(wav path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let bytes = [UInt8](data)
        func u32(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24 }
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = u32(offset + 4)
            if id == "data" {
                let end = min(bytes.count, offset + 8 + size)
                return stride(from: offset + 8, to: end - 1, by: 2).map {
                    Float(Int16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8)) / 32768
                }
            }
            offset += 8 + size + (size & 1)
        }
        return []
    }
}
