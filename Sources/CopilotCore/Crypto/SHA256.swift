import CCrypto

/// The one wrapper around OpenSSL's libcrypto (the `CCrypto` system library target): SHA-256
/// digests. No other file imports `CCrypto`.
package enum SHA256Digest {
    /// The 32-byte SHA-256 digest of `bytes`.
    package static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let input = Array(bytes)
        input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                _ = CCrypto.SHA256(src.baseAddress, src.count, dst.baseAddress)
            }
        }
        return out
    }

    /// The digest as 64 lowercase hex digits.
    package static func hex(_ bytes: some Collection<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for b in digest(bytes) {
            text.append(digits[Int(b >> 4)])
            text.append(digits[Int(b & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
