/// Byte formats for writing features out (`copilot mel`).
public enum MelOutputFormat: String, CaseIterable, Sendable {
    /// numpy's `.npy` (version 1.0, little-endian float32, C order, shape `[mels, frames]`):
    /// `numpy.load` gives exactly faster-whisper's array layout.
    case npy
    /// Raw little-endian float32 values, mel-major, no header.
    case f32le
}

extension MelSpectrogram {
    /// The values as little-endian float32 bytes, mel-major.
    package func float32LittleEndianBytes() -> [UInt8] {
        if 1.littleEndian == 1 {
            return values.withUnsafeBytes { Array($0) }
        }
        var out = [UInt8]()
        out.reserveCapacity(values.count * 4)
        for value in values {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { out.append(contentsOf: $0) }
        }
        return out
    }

    /// The spectrogram as a `.npy` file (header padded so the data starts on a 64-byte boundary).
    package func npyBytes() -> [UInt8] {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(melCount), \(frameCount)), }"
        let prefixLength = 10  // magic (6) + version (2) + header length (2)
        let unpadded = prefixLength + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = UInt16(header.utf8.count)
        out += [UInt8(length & 0xFF), UInt8(length >> 8)]
        out += Array(header.utf8)
        out += float32LittleEndianBytes()
        return out
    }

    /// The bytes of `format`.
    package func encoded(as format: MelOutputFormat) -> [UInt8] {
        switch format {
        case .npy: npyBytes()
        case .f32le: float32LittleEndianBytes()
        }
    }
}
