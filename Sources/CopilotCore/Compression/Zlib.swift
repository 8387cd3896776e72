import CZlib

/// Errors from zlib.
package enum ZlibError: Error, Equatable {
    /// `compress2` returned a zlib status code other than `Z_OK`.
    case failed(status: Int32)
}

/// The one wrapper around zlib (the `CZlib` system library target). No other file imports
/// `CZlib`.
package enum Zlib {
    /// zlib's default compression level, the one Python's `zlib.compress` uses.
    package static let defaultLevel: Int32 = 6

    /// The size in bytes of `bytes` compressed by zlib's `compress2` (zlib stream format, as
    /// Python's `zlib.compress` produces) at `level`. O(n).
    package static func compressedSize(of bytes: [UInt8], level: Int32 = defaultLevel) throws -> Int {
        try compress(bytes, level: level).count
    }
}

extension Zlib {
    /// Compresses `bytes` into the zlib stream format (Python's `zlib.compress`).
    package static func compress(_ bytes: [UInt8], level: Int32 = defaultLevel) throws -> [UInt8] {
        var destLength = compressBound(uLong(bytes.count))
        var destination = [UInt8](repeating: 0, count: Int(destLength))
        let status = destination.withUnsafeMutableBufferPointer { dst in
            bytes.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &destLength, src.baseAddress, uLong(src.count), level)
            }
        }
        guard status == Z_OK else { throw ZlibError.failed(status: status) }
        destination.removeSubrange(Int(destLength)...)
        return destination
    }

    /// Inflates a zlib stream whose original length is unknown (Python's `zlib.decompress`).
    package static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        var capacity = max(64, bytes.count * 4)
        while true {
            var destination = [UInt8](repeating: 0, count: capacity)
            var destLength = uLong(capacity)
            let status = destination.withUnsafeMutableBufferPointer { dst in
                bytes.withUnsafeBufferPointer { src in
                    uncompress(dst.baseAddress, &destLength, src.baseAddress, uLong(src.count))
                }
            }
            if status == Z_BUF_ERROR && capacity < Int(UInt32.max) / 2 {
                capacity *= 4
                continue
            }
            guard status == Z_OK else { throw ZlibError.failed(status: status) }
            destination.removeSubrange(Int(destLength)...)
            return destination
        }
    }
}
