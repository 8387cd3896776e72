import CZstd

/// The one wrapper around libzstd (the `CZstd` system library target). No other file
/// imports `CZstd`.
public enum Zstd {
    /// zstd's default level (3): fast, and far smaller than lz4 on JSON.
    public static let defaultLevel: Int32 = 3

    /// Compresses `source` in one call at `level`.
    public static func compress(_ source: UnsafeRawBufferPointer, level: Int32 = defaultLevel) throws -> [UInt8] {
        let bound = ZSTD_compressBound(source.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress, dst.count, source.baseAddress, source.count, level)
        }
        if ZSTD_isError(written) != 0 {
            throw CacheError.compression(codec: "zstd", reason: String(cString: ZSTD_getErrorName(written)))
        }
        out.removeSubrange(written...)
        return out
    }

    /// Decompresses into exactly `originalCount` bytes; nil when the frame is damaged or its
    /// content has another length.
    public static func decompress(_ source: UnsafeRawBufferPointer, originalCount: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: originalCount)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_decompress(dst.baseAddress, dst.count, source.baseAddress, source.count)
        }
        guard ZSTD_isError(written) == 0, written == originalCount else { return nil }
        return out
    }
}
