import CZlib

/// Errors from zlib.
public enum ZlibError: Error, Equatable {
    /// `compress2` returned a zlib status code other than `Z_OK`.
    case failed(status: Int32)
}

/// The one wrapper around zlib (the `CZlib` system library target). No other file imports
/// `CZlib`.
public enum Zlib {
    /// zlib's default compression level, the one Python's `zlib.compress` uses.
    public static let defaultLevel: Int32 = 6

    /// The size in bytes of `bytes` compressed by zlib's `compress2` (zlib stream format, as
    /// Python's `zlib.compress` produces) at `level`. O(n).
    public static func compressedSize(of bytes: [UInt8], level: Int32 = defaultLevel) throws -> Int {
        var destLength = compressBound(uLong(bytes.count))
        var destination = [UInt8](repeating: 0, count: Int(destLength))
        let status = destination.withUnsafeMutableBufferPointer { dst in
            bytes.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &destLength, src.baseAddress, uLong(src.count), level)
            }
        }
        guard status == Z_OK else { throw ZlibError.failed(status: status) }
        return Int(destLength)
    }
}
