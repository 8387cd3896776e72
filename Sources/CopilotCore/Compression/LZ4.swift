import CLZ4

/// The one wrapper around liblz4 (the `CLZ4` system library target). No other file imports
/// `CLZ4`.
package enum LZ4 {
    /// Largest input one lz4 block holds.
    package static let maxInputBytes = Int(LZ4_MAX_INPUT_SIZE)

    /// Compresses `source` as one raw lz4 block (the fast default mode).
    package static func compress(_ source: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard source.count <= maxInputBytes else {
            throw CacheError.compression(codec: "lz4", reason: "input of \(source.count) bytes is over lz4's \(maxInputBytes)-byte block limit; use zstd")
        }
        let bound = Int(LZ4_compressBound(Int32(source.count)))
        var out = [UInt8](repeating: 0, count: max(bound, 1))
        let written = out.withUnsafeMutableBytes { dst in
            LZ4_compress_default(
                source.baseAddress?.assumingMemoryBound(to: CChar.self), dst.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(source.count), Int32(dst.count))
        }
        guard written > 0 || source.isEmpty else { throw CacheError.compression(codec: "lz4", reason: "LZ4_compress_default returned \(written)") }
        out.removeSubrange(Int(written)...)
        return out
    }

    /// Decompresses a raw block into exactly `originalCount` bytes; nil when it is damaged.
    package static func decompress(_ source: UnsafeRawBufferPointer, originalCount: Int) -> [UInt8]? {
        guard originalCount <= maxInputBytes else { return nil }
        var out = [UInt8](repeating: 0, count: originalCount)
        let written = out.withUnsafeMutableBytes { dst in
            LZ4_decompress_safe(
                source.baseAddress?.assumingMemoryBound(to: CChar.self), dst.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(source.count), Int32(dst.count))
        }
        guard written == originalCount else { return nil }
        return out
    }
}
