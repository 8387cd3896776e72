/// wyhash "final3" (Wang Yi, public domain), the 64-bit hash behind the optimized Bloom filter.
///
/// Implemented from the algorithm's public description: little-endian 4/8-byte reads, the
/// 64x64 -> 128-bit multiply folded with xor (`mix`), and the default secret. Filters live in
/// files, so the hash must be identical on every machine: it reads bytes explicitly as
/// little-endian and has no platform-dependent branch. The tests pin it to vectors produced by
/// the `wyhash` PyPI binding (0.1.2) with the same secret. Throughput is several GB/s for long
/// inputs and a few nanoseconds for short keys.
@usableFromInline package enum WyHash {
    /// The default secret of wyhash final3.
    @usableFromInline static let secret0: UInt64 = 0xa076_1d64_78bd_642f
    @usableFromInline static let secret1: UInt64 = 0xe703_7ed1_a0b4_28db
    @usableFromInline static let secret2: UInt64 = 0x8ebc_6af0_9c88_c6e3
    @usableFromInline static let secret3: UInt64 = 0x5899_65cc_7537_4cc3

    /// Hash of `bytes` with `seed` (0 for Bloom filters). Keys of up to 16 bytes take an
    /// inlined path of two multiplies; longer keys call the out-of-line loop.
    @inlinable @inline(__always)
    package static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let length = bytes.count
        guard length <= 16, length > 0, let p = bytes.baseAddress else { return hashAny(bytes, seed: seed) }
        var a: UInt64
        var b: UInt64 = 0
        if length >= 4 {
            let quarter = (length >> 3) << 2
            a = (read4(p) << 32) | read4(p + quarter)
            b = (read4(p + length - 4) << 32) | read4(p + length - 4 - quarter)
        } else {
            a = read3(p, length)
        }
        return finish(a: a, b: b, seed: seed ^ secret0, length: length)
    }

    /// The whole algorithm, for any length (the long-key path of ``hash(_:seed:)``).
    @usableFromInline @inline(never)
    static func hashAny(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let length = bytes.count
        var seed = seed ^ secret0
        var a: UInt64 = 0
        var b: UInt64 = 0
        guard let p = bytes.baseAddress, length > 0 else {
            return finish(a: 0, b: 0, seed: seed, length: 0)
        }
        if length <= 16 {
            if length >= 4 {
                let quarter = (length >> 3) << 2
                a = (read4(p) << 32) | read4(p + quarter)
                b = (read4(p + length - 4) << 32) | read4(p + length - 4 - quarter)
            } else {
                a = read3(p, length)
            }
        } else {
            var q = p
            var left = length
            if left > 48 {
                var see1 = seed
                var see2 = seed
                repeat {
                    seed = mix(read8(q) ^ secret1, read8(q + 8) ^ seed)
                    see1 = mix(read8(q + 16) ^ secret2, read8(q + 24) ^ see1)
                    see2 = mix(read8(q + 32) ^ secret3, read8(q + 40) ^ see2)
                    q += 48
                    left -= 48
                } while left > 48
                seed ^= see1 ^ see2
            }
            while left > 16 {
                seed = mix(read8(q) ^ secret1, read8(q + 8) ^ seed)
                q += 16
                left -= 16
            }
            a = read8(q + left - 16)
            b = read8(q + left - 8)
        }
        return finish(a: a, b: b, seed: seed, length: length)
    }

    /// Hash of a string's UTF-8 bytes.
    @inlinable
    package static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 {
        var string = string
        return string.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    @inlinable @inline(__always)
    static func finish(a: UInt64, b: UInt64, seed: UInt64, length: Int) -> UInt64 {
        mix(secret1 ^ UInt64(length), mix(a ^ secret1, b ^ seed))
    }

    /// The 128-bit product of `a` and `b`, folded to 64 bits by xor.
    @inlinable @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (hi, lo) = a.multipliedFullWidth(by: b)
        return hi ^ lo
    }

    @inlinable
    static func read8(_ p: UnsafeRawPointer) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
    }

    /// First, middle and last byte of a 1...3-byte key.
    @inlinable @inline(__always)
    static func read3(_ p: UnsafeRawPointer, _ length: Int) -> UInt64 {
        (UInt64(p.load(as: UInt8.self)) << 16)
            | (UInt64(p.load(fromByteOffset: length >> 1, as: UInt8.self)) << 8)
            | UInt64(p.load(fromByteOffset: length - 1, as: UInt8.self))
    }

    @inlinable
    static func read4(_ p: UnsafeRawPointer) -> UInt64 {
        UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
    }
}
