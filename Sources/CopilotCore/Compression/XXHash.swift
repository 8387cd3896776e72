import CXXHash

/// The one wrapper around libxxhash (the `CXXHash` system library target): XXH3, a
/// non-cryptographic checksum at tens of GB/s (zlib's CRC-32 cost more than a Redis round
/// trip's client work on small values). No other file imports `CXXHash`.
package enum XXHash {
    /// XXH3-64 of `bytes` with `seed`.
    package static func xxh3(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        XXH3_64bits_withSeed(bytes.baseAddress, bytes.count, seed)
    }
}
