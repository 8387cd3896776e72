import Foundation

/// Writes CTranslate2 model.bin bytes for crafted test files (see docs/WHISPER.md for the
/// format), shared by the model reader's tests and the CLI tests.
public struct ModelBinBuilder {
    /// An empty file of binary version 6, spec WhisperSpec revision 3.
    public init() {}

    /// The binary version written first.
    public var version: UInt32 = 6
    /// The specification name.
    public var spec = "WhisperSpec"
    /// The specification revision.
    public var revision: UInt32 = 3
    /// (name, shape, dtype code, data bytes, byte count override), written sorted by name.
    public var variables: [(String, [UInt32], UInt8, [UInt8], UInt32?)] = []
    /// (alias, target) pairs.
    public var aliases: [(String, String)] = []

    /// The smallest file ``WhisperWeights.dimensions(of:)`` reads: width 4, one head, one
    /// layer each side, a 10-token vocabulary, zero weights, and the given mel bands and
    /// audio and text positions (Whisper's are 80, 1500 and 448).
    public static func whisperSkeleton(mels: Int = 80, audioPositions: Int = 1500, textPositions: Int = 448) -> ModelBinBuilder {
        var b = ModelBinBuilder()
        let d = 4
        b.add("encoder/conv1/weight", shape: [d, mels, 3], floats: Array(repeating: 0, count: d * mels * 3))
        b.add("encoder/position_encodings/encodings", shape: [audioPositions, d], floats: Array(repeating: 0, count: audioPositions * d))
        b.add("decoder/position_encodings/encodings", shape: [textPositions, d], floats: Array(repeating: 0, count: textPositions * d))
        b.add("decoder/embeddings/weight", shape: [10, d], floats: Array(repeating: 0, count: 10 * d))
        b.add("encoder/layer_0/ffn/linear_0/weight", shape: [8, d], floats: Array(repeating: 0, count: 8 * d))
        b.add("decoder/layer_0/ffn/linear_0/weight", shape: [8, d], floats: Array(repeating: 0, count: 8 * d))
        b.add("encoder/num_heads", shape: [], dtype: 1, bytes: [1])
        return b
    }

    /// Adds a float32 tensor.
    public mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        var bytes: [UInt8] = []
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes += $0 } }
        variables.append((name, shape.map(UInt32.init), 0, bytes, nil))
    }

    /// Adds a tensor of any dtype code from raw bytes; `byteCount` overrides the stored count.
    public mutating func add(_ name: String, shape: [Int], dtype: UInt8, bytes: [UInt8], byteCount: UInt32? = nil) {
        variables.append((name, shape.map(UInt32.init), dtype, bytes, byteCount))
    }

    /// The file's bytes.
    public func data() -> Data {
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) {
            let utf8 = Array(s.utf8)
            withUnsafeBytes(of: UInt16(utf8.count + 1).littleEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: utf8)
            out.append(0)
        }
        u32(version)
        string(spec)
        u32(revision)
        u32(UInt32(variables.count))
        for (name, shape, dtype, bytes, count) in variables.sorted(by: { $0.0 < $1.0 }) {
            string(name)
            out.append(UInt8(shape.count))
            for d in shape { u32(d) }
            out.append(dtype)
            u32(count ?? UInt32(bytes.count))
            out.append(contentsOf: bytes)
        }
        u32(UInt32(aliases.count))
        for (a, t) in aliases {
            string(a)
            string(t)
        }
        return out
    }

    /// Writes the file to a fresh temporary path and returns it.
    public func write() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("copilot-model-\(UUID().uuidString).bin").path
        try data().write(to: URL(fileURLWithPath: path))
        return path
    }
}

