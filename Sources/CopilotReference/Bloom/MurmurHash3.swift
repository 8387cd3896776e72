/// MurmurHash3, x86 128-bit variant (Austin Appleby, public domain), exactly as Python's
/// `mmh3.hash128(key, seed, x64arch=False)` computes it: the four 32-bit state words h1...h4
/// form the 128-bit result h1 | h2 << 32 | h3 << 64 | h4 << 96, returned as `low` (h1, h2)
/// and `high` (h3, h4).
package enum MurmurHash3 {
    /// The 128-bit hash of `bytes` with `seed`.
    package static func x86_128(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> (low: UInt64, high: UInt64) {
        let c1: UInt32 = 0x239b_961b, c2: UInt32 = 0xab0e_9789, c3: UInt32 = 0x38b3_4ae5, c4: UInt32 = 0xa1e3_8b93
        var h1 = seed, h2 = seed, h3 = seed, h4 = seed
        let length = bytes.count
        func rotl(_ x: UInt32, _ r: UInt32) -> UInt32 { (x << r) | (x >> (32 - r)) }
        func word(_ offset: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }

        let blocks = length / 16
        for i in 0..<blocks {
            var k1 = word(i * 16), k2 = word(i * 16 + 4), k3 = word(i * 16 + 8), k4 = word(i * 16 + 12)
            k1 &*= c1; k1 = rotl(k1, 15); k1 &*= c2; h1 ^= k1
            h1 = rotl(h1, 19); h1 &+= h2; h1 = h1 &* 5 &+ 0x561c_cd1b
            k2 &*= c2; k2 = rotl(k2, 16); k2 &*= c3; h2 ^= k2
            h2 = rotl(h2, 17); h2 &+= h3; h2 = h2 &* 5 &+ 0x0bca_a747
            k3 &*= c3; k3 = rotl(k3, 17); k3 &*= c4; h3 ^= k3
            h3 = rotl(h3, 15); h3 &+= h4; h3 = h3 &* 5 &+ 0x96cd_1c35
            k4 &*= c4; k4 = rotl(k4, 18); k4 &*= c1; h4 ^= k4
            h4 = rotl(h4, 13); h4 &+= h1; h4 = h4 &* 5 &+ 0x32ac_3b17
        }

        // The tail: up to 15 bytes, gathered little-endian into k1...k4.
        let tail = blocks * 16
        let rest = length & 15
        var k = [UInt32](repeating: 0, count: 4)
        for j in 0..<rest {
            k[j / 4] |= UInt32(bytes[tail + j]) << (8 * UInt32(j % 4))
        }
        if rest > 12 { var k4 = k[3]; k4 &*= c4; k4 = rotl(k4, 18); k4 &*= c1; h4 ^= k4 }
        if rest > 8 { var k3 = k[2]; k3 &*= c3; k3 = rotl(k3, 17); k3 &*= c4; h3 ^= k3 }
        if rest > 4 { var k2 = k[1]; k2 &*= c2; k2 = rotl(k2, 16); k2 &*= c3; h2 ^= k2 }
        if rest > 0 { var k1 = k[0]; k1 &*= c1; k1 = rotl(k1, 15); k1 &*= c2; h1 ^= k1 }

        let len32 = UInt32(truncatingIfNeeded: length)
        h1 ^= len32; h2 ^= len32; h3 ^= len32; h4 ^= len32
        h1 &+= h2; h1 &+= h3; h1 &+= h4
        h2 &+= h1; h3 &+= h1; h4 &+= h1
        h1 = fmix32(h1); h2 = fmix32(h2); h3 = fmix32(h3); h4 = fmix32(h4)
        h1 &+= h2; h1 &+= h3; h1 &+= h4
        h2 &+= h1; h3 &+= h1; h4 &+= h1
        return (UInt64(h1) | UInt64(h2) << 32, UInt64(h3) | UInt64(h4) << 32)
    }

    /// The hash of a string's UTF-8 bytes (what `mmh3.hash128(str)` hashes).
    package static func x86_128(_ string: String, seed: UInt32 = 0) -> (low: UInt64, high: UInt64) {
        var string = string
        return string.withUTF8 { x86_128(UnsafeRawBufferPointer($0), seed: seed) }
    }

    static func fmix32(_ x: UInt32) -> UInt32 {
        var h = x
        h ^= h >> 16
        h &*= 0x85eb_ca6b
        h ^= h >> 13
        h &*= 0xc2b2_ae35
        h ^= h >> 16
        return h
    }
}
